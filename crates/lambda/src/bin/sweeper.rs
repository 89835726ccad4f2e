//! The sweeper, run on a schedule: resumes scans a worker left waiting (every result in but
//! finalization never begun, or a finalize that never ran).

use isoscan_lambda::{init_logging, Deployment};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let dep = Deployment::from_env().await?;
    let dep = &dep;
    lambda_runtime::run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            let swept = dep.sweep().await?;
            Ok::<_, Error>(serde_json::json!({
                "unfinished": swept.unfinished,
                "resumed": swept.resumed,
                "failed": swept.failed,
            }))
        },
    ))
    .await
}
