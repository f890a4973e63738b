//! The standard proxy variables are honoured. Its own binary: it changes the environment.

mod common;

use common::{Canned, CannedServer};

#[tokio::test]
async fn http_proxy_and_no_proxy_are_honoured() {
    let proxy = CannedServer::start([Canned::wire("list-200")]).await;
    std::env::set_var("HTTP_PROXY", &proxy.url);
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");

    // Through the proxy: it receives the absolute URL of the real destination.
    let client = grantex::Grantex::builder()
        .api_key("gx_test")
        .base_url("http://grantex.invalid")
        .max_retries(0)
        .build()
        .unwrap();
    client.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(
        proxy.requests()[0].target,
        "http://grantex.invalid/v1/anomalies"
    );

    // Around it: a host listed in NO_PROXY is reached directly.
    let direct = CannedServer::start([Canned::wire("list-200")]).await;
    let client = direct.client().max_retries(0).build().unwrap();
    client.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(direct.requests()[0].target, "/v1/anomalies");
    assert_eq!(proxy.requests().len(), 1);
}
