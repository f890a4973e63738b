//! Faults.

use std::time::{Duration, Instant};

use grantex_server::{Fault, FaultAction, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{header, Api};

#[tokio::test(flavor = "multi_thread")]
async fn status_fault_answers_the_next_n_matching_requests() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    server.inject_fault(
        Fault::new(FaultAction::Status {
            status: 503,
            body: None,
            retry_after: Some(1),
        })
        .method("GET")
        .path("/v1/anomalies")
        .times(2),
    );
    // Other routes are not affected.
    assert_eq!(api.detect_response().await.status(), StatusCode::OK);
    for _ in 0..2 {
        let response = api.list_response("?unacknowledged=true").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&response, "retry-after"), Some("1"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], "Service Unavailable");
    }
    assert_eq!(api.list_response("").await.status(), StatusCode::OK);
    assert_eq!(server.pending_faults(), 0);

    // A custom body, and a pattern.
    server.inject_fault(
        Fault::new(FaultAction::Status {
            status: 500,
            body: Some(r#"{"message":"boom","code":"INTERNAL"}"#.to_owned()),
            retry_after: None,
        })
        .path("/v1/anomalies/*/acknowledge"),
    );
    let response = api.acknowledge("anything").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(header(&response, "retry-after").is_none());
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"message":"boom","code":"INTERNAL"}"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn delay_fault_delays_then_answers() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    server.inject_fault(Fault::new(FaultAction::Delay(Duration::from_millis(400))));
    let started = Instant::now();
    let response = api.list_response("").await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), StatusCode::OK);

    // A client timeout shorter than the delay fires.
    server.inject_fault(Fault::new(FaultAction::Delay(Duration::from_secs(3))));
    let err = api
        .http
        .get(format!("{}/v1/anomalies", server.url()))
        .bearer_auth(&api.key)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn drop_fault_closes_the_connection_without_an_answer() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    // Warm a pooled keep-alive connection first: the drop must also work on it.
    assert_eq!(api.list_response("").await.status(), StatusCode::OK);
    server.inject_fault(Fault::new(FaultAction::Drop).path("/v1/anomalies"));
    let started = Instant::now();
    let err = api
        .http
        .get(format!("{}/v1/anomalies", server.url()))
        .bearer_auth(&api.key)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_err();
    assert!(
        !err.is_timeout(),
        "a hang, not a closed connection: {err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The server carries on.
    assert_eq!(api.list_response("").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_body_fault_sends_truncated_json() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    server.inject_fault(Fault::new(FaultAction::MalformedBody).method("POST"));
    let response = api.detect_response().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "content-type")
        .unwrap()
        .starts_with("application/json"));
    let text = response.text().await.unwrap();
    assert!(!text.is_empty());
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(api.detect().await["total"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_can_be_injected_over_http() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    let faults = format!("{}/v1/test/faults", server.url());
    let created = api
        .http
        .post(&faults)
        .json(
            &json!({"method": "POST", "path": "/v1/anomalies/detect", "times": 2,
                      "action": "status", "status": 429, "retryAfter": 7,
                      "body": {"message": "slow down", "code": "RATE_LIMIT_EXCEEDED"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Value>().await.unwrap()["pending"], 2);
    for _ in 0..2 {
        let response = api.detect_response().await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&response, "retry-after"), Some("7"));
        assert_eq!(
            response.json::<Value>().await.unwrap()["message"],
            "slow down"
        );
    }
    assert_eq!(api.detect_response().await.status(), StatusCode::OK);

    for spec in [
        json!({"action": "drop", "path": "/v1/anomalies"}),
        json!({"action": "malformed"}),
        json!({"action": "delay", "delayMs": 10}),
    ] {
        assert_eq!(
            api.http
                .post(&faults)
                .json(&spec)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::CREATED
        );
    }
    let pending: Value = api
        .http
        .get(&faults)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["pending"], 3);
    assert_eq!(
        api.http.delete(&faults).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(server.pending_faults(), 0);

    for bad in [
        json!({"action": "explode"}),
        json!({"action": "status"}),
        json!({"action": "delay"}),
        json!([]),
    ] {
        let response = api.http.post(&faults).json(&bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
