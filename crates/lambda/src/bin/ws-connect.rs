//! `$connect`: accepts a connection with a valid `token` query parameter, refuses it otherwise.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use isoscan_lambda::{init_logging, Deployment, Refused};
use lambda_runtime::{service_fn, Error, LambdaEvent};

fn status(code: i64) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = code;
    r
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let dep = Deployment::from_env().await?;
    let dep = &dep;
    lambda_runtime::run(service_fn(
        move |e: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            let conn = e
                .payload
                .request_context
                .connection_id
                .clone()
                .unwrap_or_default();
            let token = e.payload.query_string_parameters.first("token");
            Ok::<_, Error>(match dep.connect(&conn, token).await {
                Ok(_) => status(200),
                Err(Refused::Unauthorized) => status(401),
                Err(Refused::Unavailable(e)) => {
                    tracing::error!(error = %e, "connect failed");
                    status(500)
                }
            })
        },
    ))
    .await
}
