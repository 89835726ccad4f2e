//! The dead-letter drain: the files of a job that kept failing are recorded as errors.

use aws_lambda_events::event::sqs::SqsEvent;
use isoscan_lambda::{batch_response, init_logging, queued_jobs, Deployment};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let dep = Deployment::from_env().await?;
    let dep = &dep;
    lambda_runtime::run(service_fn(move |e: LambdaEvent<SqsEvent>| async move {
        let failed = dep.drain_dead_letters(&queued_jobs(e.payload)).await;
        Ok::<_, Error>(batch_response(failed))
    }))
    .await
}
