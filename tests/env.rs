//! `GRANTEX_API_KEY` and `GRANTEX_BASE_URL`. One test in its own binary: it changes the
//! process environment, which tests running in parallel threads must not see.

mod common;

use common::{Canned, CannedServer};

#[tokio::test]
async fn key_and_base_url_come_from_the_environment_unless_given() {
    let server = CannedServer::start([Canned::wire("list-200"), Canned::wire("list-200")]).await;
    std::env::set_var("GRANTEX_API_KEY", " gx_from_env ");
    std::env::set_var("GRANTEX_BASE_URL", &server.url);

    let client = grantex::Grantex::from_env().unwrap();
    client.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer gx_from_env")
    );

    let explicit = grantex::Grantex::builder()
        .api_key("gx_given")
        .build()
        .unwrap();
    explicit.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(
        server.requests()[1].header("authorization"),
        Some("Bearer gx_given")
    );

    std::env::set_var("GRANTEX_BASE_URL", "");
    let default = grantex::Grantex::from_env().unwrap();
    assert_eq!(default.base_url(), grantex::DEFAULT_BASE_URL);

    std::env::remove_var("GRANTEX_API_KEY");
    let error = grantex::Grantex::from_env().unwrap_err();
    assert!(matches!(error, grantex::Error::Config(_)));
    assert!(error.to_string().contains("GRANTEX_API_KEY"), "{error}");
}
