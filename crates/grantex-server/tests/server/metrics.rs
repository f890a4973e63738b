//! `GET /v1/anomaly/metrics`.

use std::time::Duration;

use grantex_server::{AuditEntry, AuditStatus, Grant};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, record_n, server_at, Api};

#[tokio::test(flavor = "multi_thread")]
async fn counts_by_status_and_severity_within_the_window() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);

    // Nothing yet.
    let raw = api.get("/v1/anomaly/metrics").await.text().await.unwrap();
    assert_eq!(
        raw,
        r#"{"window":"24h","total":0,"byStatus":{"open":0,"acknowledged":0,"resolved":0},"bySeverity":{"critical":0,"high":0,"medium":0,"low":0}}"#
    );

    // At 07:00: one rate spike (acknowledged through the alert route, so detect keeps
    // it).
    server
        .clock()
        .set(crate::helpers::at("2026-11-25T07:00:00.000Z"));
    record_n(&server, 51, AuditEntry::new("ag_early"));
    let early = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.send(
        Method::POST,
        &format!("/v1/anomaly/alerts/{early}/acknowledge"),
        None,
    )
    .await;

    // At 13:30: a failure rate and a new principal; one resolved, one
    // legacy-acknowledged (still open).
    server
        .clock()
        .set(crate::helpers::at("2026-11-25T13:30:00.000Z"));
    record_n(
        &server,
        5,
        AuditEntry::new("ag_fail").status(AuditStatus::Failure),
    );
    server.record_grant(server.api_key(), Grant::new("ag_new", "user_new"));
    let detect = api.detect().await;
    assert_eq!(detect["total"], 2, "{detect}");
    let fail = detect["anomalies"][0]["id"].as_str().unwrap().to_owned();
    let new = detect["anomalies"][1]["id"].as_str().unwrap().to_owned();
    api.send(
        Method::POST,
        &format!("/v1/anomaly/alerts/{fail}/resolve"),
        Some(json!({"note": "fixed"})),
    )
    .await;
    api.acknowledge(&new).await;

    server
        .clock()
        .set(crate::helpers::at("2026-11-25T14:00:00.000Z"));
    let metrics = |query: &'static str| {
        let api = &api;
        async move { api.get_ok(&format!("/v1/anomaly/metrics{query}")).await }
    };
    let day = metrics("").await;
    assert_eq!(
        day,
        json!({"window": "24h", "total": 3,
               "byStatus": {"open": 1, "acknowledged": 1, "resolved": 1},
               "bySeverity": {"critical": 0, "high": 1, "medium": 1, "low": 1}})
    );
    assert_eq!(metrics("?window=24h").await, day);
    // 6h: since 08:00, the 07:00 spike is out.
    assert_eq!(
        metrics("?window=6h").await,
        json!({"window": "6h", "total": 2,
               "byStatus": {"open": 1, "acknowledged": 0, "resolved": 1},
               "bySeverity": {"critical": 0, "high": 0, "medium": 1, "low": 1}})
    );
    assert_eq!(metrics("?window=1h").await["total"], 2);
    server.clock().advance(Duration::from_secs(30 * 60 + 1));
    assert_eq!(metrics("?window=1h").await["total"], 0);
    assert_eq!(metrics("?window=6h").await["total"], 2);

    // agentId narrows the count (an undocumented filter of the hosted route).
    let agent = metrics("?agentId=ag_fail").await;
    assert_eq!(agent["total"], 1);
    assert_eq!(agent["byStatus"]["resolved"], 1);
    assert_eq!(metrics("?agentId=ag_nobody").await["total"], 0);
    assert_eq!(metrics("?agentId=").await["total"], 0);

    // Another account counts its own.
    server.add_api_key("gx_other");
    let other = Api::with_key(&server, "gx_other");
    assert_eq!(other.get_ok("/v1/anomaly/metrics").await["total"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_window_is_400() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    for query in [
        "?window=7d",
        "?window=",
        "?window=1H",
        "?window=1h&window=1h",
    ] {
        assert_error(
            api.get(&format!("/v1/anomaly/metrics{query}")).await,
            StatusCode::BAD_REQUEST,
            "Invalid window. Must be one of: 1h, 6h, 24h",
        )
        .await;
    }
    let body: Value = api.get_ok("/v1/anomaly/metrics?window=1h").await;
    assert_eq!(body["window"], "1h");
}
