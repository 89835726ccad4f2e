//! `$disconnect`: forgets the connection.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use isoscan_lambda::{init_logging, Deployment};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let dep = Deployment::from_env().await?;
    let dep = &dep;
    lambda_runtime::run(service_fn(
        move |e: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
            let conn = e.payload.request_context.connection_id.unwrap_or_default();
            dep.disconnect(&conn).await;
            let mut r = ApiGatewayProxyResponse::default();
            r.status_code = 200;
            Ok::<_, Error>(r)
        },
    ))
    .await
}
