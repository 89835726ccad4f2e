//! The link function (a Lambda function URL): a stable drawing link in, a redirect to the
//! object presigned just now out; a link that is not valid or has expired gets a plain refusal.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use aws_lambda_events::http::{header, HeaderValue};
use isoscan_lambda::{init_logging, LinkAnswer, LinkService};
use lambda_runtime::{service_fn, Error, LambdaEvent};

fn answer(a: LinkAnswer) -> LambdaFunctionUrlResponse {
    let mut r = LambdaFunctionUrlResponse::default();
    r.headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    match a {
        LinkAnswer::Redirect(url) => {
            r.status_code = 302;
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers.insert(header::LOCATION, v);
            } else {
                r.status_code = 500;
            }
        }
        LinkAnswer::Refused(status, message) => {
            r.status_code = i64::from(status);
            r.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r.body = Some(message);
        }
    }
    r
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();
    let links = LinkService::from_env().await?;
    let links = &links;
    lambda_runtime::run(service_fn(
        move |e: LambdaEvent<LambdaFunctionUrlRequest>| async move {
            let query = e.payload.raw_query_string.unwrap_or_default();
            Ok::<_, Error>(answer(links.open(&query).await))
        },
    ))
    .await
}
