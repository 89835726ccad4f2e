//! `$default` and the action routes: one client message, answered through the management API.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use isoscan_lambda::{deadline_of, init_logging, Deployment, REPLAY_TIME};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let dep = Deployment::from_env().await?;
    let dep = &dep;
    lambda_runtime::run(service_fn(
        move |e: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            let conn = e.payload.request_context.connection_id.unwrap_or_default();
            let body = e.payload.body.unwrap_or_default();
            // A replay ends well before the function's own deadline.
            let end = deadline_of(e.context.deadline);
            let until = (std::time::Instant::now() + REPLAY_TIME).min(
                end.checked_sub(std::time::Duration::from_secs(3))
                    .unwrap_or(end),
            );
            let code = match dep.message_until(&conn, &body, until).await {
                Ok(()) => 200,
                Err(err) => {
                    tracing::error!(error = %err, "message failed");
                    500
                }
            };
            let mut r = ApiGatewayProxyResponse::default();
            r.status_code = code;
            Ok::<_, Error>(r)
        },
    ))
    .await
}
