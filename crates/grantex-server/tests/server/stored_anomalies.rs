//! Stored anomalies.

use std::time::Duration;

use grantex_server::AuditEntry;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{record_n, server_at, Api};

#[tokio::test(flavor = "multi_thread")]
async fn detect_replaces_unacknowledged_and_keeps_acknowledged() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    record_n(&server, 51, AuditEntry::new("ag_busy"));
    let first = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first.starts_with("anm_") && first.len() == 30, "{first}");
    assert_eq!(api.acknowledge(&first).await.status(), StatusCode::OK);

    server.clock().advance(Duration::from_secs(1));
    let second = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.clock().advance(Duration::from_secs(1));
    let third = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(first != second && second != third && first != third);

    let list = api.list("").await;
    let ids: Vec<&str> = list["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    // The second run's anomaly was replaced by the third's; the acknowledged one stays.
    assert_eq!(ids, [third.as_str(), first.as_str()]);
    assert_eq!(list["total"], 2);
    assert_eq!(
        api.acknowledge(&second).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_is_newest_first_and_filters_only_on_true() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    record_n(&server, 51, AuditEntry::new("ag_busy"));
    let old = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.acknowledge(&old).await;
    server.clock().advance(Duration::from_secs(60));
    let new = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ids = |body: Value| -> Vec<String> {
        body["anomalies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(api.list("").await), [new.clone(), old.clone()]);
    assert_eq!(
        ids(api.list("?unacknowledged=true").await),
        std::slice::from_ref(&new)
    );
    assert_eq!(api.list("?unacknowledged=true").await["total"], 1);
    for not_true in [
        "?unacknowledged=1",
        "?unacknowledged=True",
        "?unacknowledged=false",
        "?unacknowledged=",
    ] {
        assert_eq!(
            ids(api.list(not_true).await),
            [new.clone(), old.clone()],
            "{not_true}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_is_an_object_in_detect_and_a_string_in_list_and_acknowledge() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    record_n(&server, 51, AuditEntry::new("ag_busy"));
    let detect = api.detect().await;
    let expected = json!({"count": 51, "windowHours": 1, "threshold": 50});
    assert_eq!(detect["anomalies"][0]["metadata"], expected);

    let list = api.list("").await;
    let as_string = list["anomalies"][0]["metadata"]
        .as_str()
        .expect("a JSON string");
    assert_eq!(as_string, r#"{"count":51,"windowHours":1,"threshold":50}"#);

    let id = detect["anomalies"][0]["id"].as_str().unwrap();
    let acked: Value = api.acknowledge(id).await.json().await.unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(acked["metadata"].as_str().unwrap()).unwrap(),
        expected
    );
    let keys: Vec<&String> = acked.as_object().unwrap().keys().collect();
    // serde_json keeps key order (feature preserve_order): this is the wire's order.
    let expected_keys = vec![
        "id",
        "type",
        "severity",
        "agentId",
        "principalId",
        "description",
        "metadata",
        "detectedAt",
        "acknowledgedAt",
    ];
    assert_eq!(keys, expected_keys);
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledging_twice_sets_a_new_timestamp() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    record_n(&server, 51, AuditEntry::new("ag_busy"));
    let id = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    server.clock().advance(Duration::from_millis(1500));
    let first: Value = api.acknowledge(&id).await.json().await.unwrap();
    assert_eq!(first["acknowledgedAt"], "2026-11-25T12:00:01.500Z");
    assert_eq!(first["detectedAt"], "2026-11-25T12:00:00.000Z");

    server.clock().advance(Duration::from_secs(20));
    let response = api.acknowledge(&id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_eq!(second["acknowledgedAt"], "2026-11-25T12:00:21.500Z");
    assert_eq!(second["id"], first["id"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_are_isolated() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    server.add_api_key("gx_other");
    let mine = Api::new(&server);
    let other = Api::with_key(&server, "gx_other");
    record_n(&server, 51, AuditEntry::new("ag_busy"));

    let id = mine.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(other.list("").await["total"], 0);
    assert_eq!(
        other.detect().await["total"],
        0,
        "the other account has no activity"
    );
    let response = other.acknowledge(&id).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.unwrap()["message"],
        "Anomaly not found"
    );
    // Still unacknowledged for its owner.
    assert_eq!(mine.list("?unacknowledged=true").await["total"], 1);
}
