//! What the client logs (through `tracing`, reaching the `log` crate when no subscriber is
//! set): an event per attempt, and at DEBUG the request and response headers with the key
//! redacted. Its own test binary, since a process has one logger.

use std::sync::Mutex;

use grantex::{Grantex, ListAnomaliesParams};
use grantex_server::TestServer;

const KEY: &str = "gx_test_logging_secret_4242";

static RECORDS: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        RECORDS.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }

    fn flush(&self) {}
}

#[tokio::test]
async fn debug_logs_show_headers_with_the_key_redacted() {
    log::set_logger(&Capture).unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let server = TestServer::builder().start().await.unwrap();
    server.add_api_key(KEY);
    let key = KEY.to_owned();
    let client = Grantex::builder()
        .api_key(&key)
        .base_url(server.url())
        .build()
        .unwrap();
    client
        .anomalies()
        .list(ListAnomaliesParams::default())
        .await
        .unwrap();
    client
        .anomalies()
        .acknowledge("anm_unknown")
        .await
        .unwrap_err();

    let records = RECORDS.lock().unwrap().clone();
    let ours: Vec<_> = records.iter().filter(|r| r.1 == "grantex").collect();
    let text = |level: log::Level| {
        ours.iter()
            .filter(|r| r.0 == level)
            .map(|r| r.2.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let debug = text(log::Level::Debug);
    assert!(
        debug.contains("request GET http://") && debug.contains("/v1/anomalies"),
        "{debug}"
    );
    assert!(debug.contains("authorization: [redacted]"), "{debug}");
    assert!(debug.contains("user-agent: grantex-rust/"), "{debug}");
    assert!(debug.contains("response 200 ["), "{debug}");
    assert!(debug.contains("response 404 ["), "{debug}");
    let info = text(log::Level::Info);
    assert!(
        info.contains("GET /v1/anomalies -> 200 (attempt 1"),
        "{info}"
    );
    assert!(
        info.contains("PATCH /v1/anomalies/{id}/acknowledge -> 404"),
        "{info}"
    );
    for (_, target, message) in &records {
        assert!(!message.contains(&key), "{target}: {message}");
        assert!(!message.contains("gx_test_logging"), "{target}: {message}");
    }
}
