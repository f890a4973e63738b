//! Conformance with the hosted API.

use grantex_server::{TestServer, Timestamp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{is_uuid_like, pairs, server_at, summary, Api};

#[tokio::test(flavor = "multi_thread")]
async fn conformance_detect_list_and_unknown_acknowledge() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);

    let detect = api.detect().await;
    assert!(Timestamp::parse_rfc3339(detect["detectedAt"].as_str().unwrap()).is_ok());
    assert_eq!(detect["total"], 0);
    assert_eq!(detect["anomalies"], json!([]));

    let list = api.list("").await;
    assert_eq!(list, json!({"anomalies": [], "total": 0}));

    let response = api.acknowledge("nonexistent-id").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Anomaly not found");
    assert_eq!(body["code"], "NOT_FOUND");
    assert!(is_uuid_like(body["requestId"].as_str().unwrap()), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_seed_reproduces_the_wire_example() {
    let server = server_at("2026-11-25T06:07:19.432Z").await;
    server.seed_demo(server.api_key());
    let api = Api::new(&server);

    let response = api.detect_response().await;
    assert_eq!(response.status(), StatusCode::OK);
    let raw = response.text().await.unwrap();
    // Key order and number formatting exactly as the hosted server writes them.
    assert!(raw.starts_with(r#"{"detectedAt":"2026-11-25T06:07:19.432Z","total":4,"autoRevokedGrants":0,"responseMode":"revoke_agent_grants","anomalies":[{"id":"anm_"#), "{raw}");
    for expected in [
        r#""type":"rate_spike","severity":"high","agentId":"seed_ag_spike","principalId":null,"description":"Agent seed_ag_spike performed 55 actions in the last hour (threshold: 50).","metadata":{"count":55,"windowHours":1,"threshold":50},"detectedAt":"2026-11-25T06:07:19.432Z","acknowledgedAt":null}"#,
        r#""type":"high_failure_rate","severity":"medium","agentId":"seed_ag_fail","principalId":null,"description":"Agent seed_ag_fail has 50% failure/blocked rate over the last 24 hours (5/10).","metadata":{"badCount":5,"totalCount":10,"percentFailure":50,"windowHours":24,"threshold":0.2},"detectedAt":"2026-11-25T06:07:19.432Z","acknowledgedAt":null}"#,
        r#""type":"new_principal","severity":"low","agentId":"seed_ag_new","principalId":"user_new","description":"Agent seed_ag_new received a grant from previously-unseen principal user_new.","metadata":{"windowHours":24},"detectedAt":"2026-11-25T06:07:19.432Z","acknowledgedAt":null}"#,
        "\"type\":\"off_hours_activity\",\"severity\":\"low\",\"agentId\":\"seed_ag_night\",\"principalId\":null,\"description\":\"Agent seed_ag_night performed 12 actions outside business hours (22:00\u{2013}06:00 UTC) in the last 24 hours.\",\"metadata\":{\"count\":12,\"windowHours\":24,\"threshold\":10},\"detectedAt\":\"2026-11-25T06:07:19.432Z\",\"acknowledgedAt\":null}",
    ] {
        assert!(raw.contains(expected), "missing {expected}\nin {raw}");
    }
    let detect: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        summary(&detect),
        pairs(&[
            ("rate_spike", "seed_ag_spike"),
            ("high_failure_rate", "seed_ag_fail"),
            ("new_principal", "seed_ag_new"),
            ("off_hours_activity", "seed_ag_night"),
        ])
    );

    // The list: metadata as a string, newest first, the doc example's anomaly last.
    let raw_list = api
        .list_response("?unacknowledged=true")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        raw_list.contains(r#""metadata":"{\"badCount\":5,\"totalCount\":10,\"percentFailure\":50,\"windowHours\":24,\"threshold\":0.2}""#),
        "{raw_list}"
    );
    let list: Value = serde_json::from_str(&raw_list).unwrap();
    assert_eq!(
        summary(&list),
        pairs(&[
            ("off_hours_activity", "seed_ag_night"),
            ("new_principal", "seed_ag_new"),
            ("high_failure_rate", "seed_ag_fail"),
            ("rate_spike", "seed_ag_spike"),
        ])
    );
    assert_eq!(list["total"], 4);

    // The documentation's acknowledge example id exists (already acknowledged).
    let response = api.acknowledge("anom_abc123").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["acknowledgedAt"], "2026-11-25T06:07:19.432Z");
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_seed_gives_four_anomalies_at_night_too() {
    for now in [
        "2026-11-25T23:30:00.000Z",
        "2026-11-26T03:00:00.000Z",
        "2026-11-25T22:05:00.000Z",
    ] {
        let server = server_at(now).await;
        server.seed_demo(server.api_key());
        let detect = Api::new(&server).detect().await;
        assert_eq!(detect["total"], 4, "at {now}: {detect}");
    }
}
