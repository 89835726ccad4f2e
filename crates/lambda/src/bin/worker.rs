//! The SQS worker: listing, file-batch and finalize jobs, answered per message.

use aws_lambda_events::event::sqs::SqsEvent;
use isoscan_lambda::{batch_response, deadline_of, init_logging, queued_jobs, Deployment};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let dep = Deployment::from_env().await?;
    let dep = &dep;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<SqsEvent>| async move {
        let deadline = deadline_of(e.context.deadline);
        let failed = dep.worker(&queued_jobs(e.payload), Some(deadline)).await;
        Ok::<_, Error>(batch_response(failed))
    }))
    .await
}
