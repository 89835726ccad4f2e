//! The SQS worker: listing, file-batch and finalize jobs, answered per message.

use aws_lambda_events::event::sqs::SqsEvent;
use isoscan_lambda::{batch_response, init_logging, queued_jobs, Deployment};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let dep = Deployment::from_env().await?;
    let dep = &dep;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<SqsEvent>| async move {
        let failed = dep.worker(&queued_jobs(e.payload)).await;
        Ok::<_, Error>(batch_response(failed))
    }))
    .await
}
