//! The rules at, under and over their thresholds.

use std::time::Duration;

use grantex_server::{AuditEntry, AuditStatus, Grant};
use serde_json::{json, Value};

use crate::helpers::{at, pairs, record_n, server_at, summary, Api};

#[tokio::test(flavor = "multi_thread")]
async fn rate_spike_needs_more_than_50_in_the_last_hour() {
    let now = "2026-11-25T12:00:00.000Z";
    let server = server_at(now).await;
    let api = Api::new(&server);
    record_n(&server, 50, AuditEntry::new("ag_at"));
    record_n(&server, 51, AuditEntry::new("ag_over"));
    // 50 inside the window plus one just outside it.
    record_n(&server, 50, AuditEntry::new("ag_edge_out"));
    server.record_audit(
        server.api_key(),
        AuditEntry::new("ag_edge_out").at(at("2026-11-25T10:59:59.999Z")),
    );
    // 50 inside plus one exactly at the window start (inclusive).
    record_n(&server, 50, AuditEntry::new("ag_edge_in"));
    server.record_audit(
        server.api_key(),
        AuditEntry::new("ag_edge_in").at(at("2026-11-25T11:00:00.000Z")),
    );

    let detect = api.detect().await;
    assert_eq!(
        summary(&detect),
        pairs(&[("rate_spike", "ag_edge_in"), ("rate_spike", "ag_over")])
    );
    let spike = &detect["anomalies"][1];
    assert_eq!(spike["severity"], "high");
    assert_eq!(
        spike["description"],
        "Agent ag_over performed 51 actions in the last hour (threshold: 50)."
    );
    assert_eq!(
        spike["metadata"],
        json!({"count": 51, "windowHours": 1, "threshold": 50})
    );
    assert_eq!(spike["principalId"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn high_failure_rate_needs_5_entries_and_over_20_percent() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let key = server.api_key().to_owned();
    let fail = |agent: &str| AuditEntry::new(agent).status(AuditStatus::Failure);
    // 4 entries, all failures: too few.
    record_n(&server, 4, fail("ag_few"));
    // 1 of 5 = exactly 20%: not over.
    record_n(&server, 4, AuditEntry::new("ag_at"));
    server.record_audit(&key, fail("ag_at"));
    // 2 of 9 (22%, blocked counts too): over.
    record_n(&server, 7, AuditEntry::new("ag_over"));
    server.record_audit(&key, fail("ag_over"));
    server.record_audit(
        &key,
        AuditEntry::new("ag_over").status(AuditStatus::Blocked),
    );
    // 4 inside plus a failure just outside 24 h: only 4 count.
    record_n(&server, 4, fail("ag_edge_out"));
    server.record_audit(&key, fail("ag_edge_out").at(at("2026-11-24T11:59:59.999Z")));
    // 4 inside plus one exactly 24 h ago: 5 count.
    record_n(&server, 4, fail("ag_edge_in"));
    server.record_audit(&key, fail("ag_edge_in").at(at("2026-11-24T12:00:00.000Z")));

    let detect = Api::new(&server).detect().await;
    assert_eq!(
        summary(&detect),
        pairs(&[
            ("high_failure_rate", "ag_edge_in"),
            ("high_failure_rate", "ag_over")
        ])
    );
    let over = &detect["anomalies"][1];
    assert_eq!(over["severity"], "medium");
    assert_eq!(
        over["description"],
        "Agent ag_over has 22% failure/blocked rate over the last 24 hours (2/9)."
    );
    assert_eq!(
        over["metadata"],
        json!({"badCount": 2, "totalCount": 9, "percentFailure": 22, "windowHours": 24, "threshold": 0.2})
    );
    assert_eq!(detect["anomalies"][0]["metadata"]["percentFailure"], 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_principal_is_a_first_grant_within_24_hours() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let key = server.api_key().to_owned();
    // A first grant inside the window.
    server.record_grant(
        &key,
        Grant::new("ag_1", "user_new").issued_at(at("2026-11-25T11:00:00.000Z")),
    );
    // Known before the window: a new grant for the same pair is not new.
    server.record_grant(
        &key,
        Grant::new("ag_1", "user_old").issued_at(at("2026-11-20T00:00:00.000Z")),
    );
    server.record_grant(&key, Grant::new("ag_1", "user_old"));
    // First grant exactly at the window start counts; a millisecond earlier does not.
    server.record_grant(
        &key,
        Grant::new("ag_2", "user_edge").issued_at(at("2026-11-24T12:00:00.000Z")),
    );
    server.record_grant(
        &key,
        Grant::new("ag_3", "user_edge").issued_at(at("2026-11-24T11:59:59.999Z")),
    );
    // Same principal, other agent: a new pair.
    server.record_grant(&key, Grant::new("ag_4", "user_old"));

    let detect = Api::new(&server).detect().await;
    let found: Vec<(String, String)> = detect["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["type"], "new_principal");
            assert_eq!(a["severity"], "low");
            assert_eq!(a["metadata"], json!({"windowHours": 24}));
            (
                a["agentId"].as_str().unwrap().to_owned(),
                a["principalId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        pairs(&[
            ("ag_1", "user_new"),
            ("ag_2", "user_edge"),
            ("ag_4", "user_old")
        ])
    );
    assert_eq!(
        detect["anomalies"][0]["description"],
        "Agent ag_1 received a grant from previously-unseen principal user_new."
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn off_hours_boundaries_are_22_00_inclusive_and_06_00_exclusive() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let key = server.api_key().to_owned();
    for agent in ["ag_2159", "ag_2200", "ag_0559", "ag_0600"] {
        record_n(
            &server,
            10,
            AuditEntry::new(agent).at(at("2026-11-25T02:00:00.000Z")),
        );
    }
    server.record_audit(
        &key,
        AuditEntry::new("ag_2159").at(at("2026-11-24T21:59:59.999Z")),
    );
    server.record_audit(
        &key,
        AuditEntry::new("ag_2200").at(at("2026-11-24T22:00:00.000Z")),
    );
    server.record_audit(
        &key,
        AuditEntry::new("ag_0559").at(at("2026-11-25T05:59:59.999Z")),
    );
    server.record_audit(
        &key,
        AuditEntry::new("ag_0600").at(at("2026-11-25T06:00:00.000Z")),
    );

    let detect = Api::new(&server).detect().await;
    assert_eq!(
        summary(&detect),
        pairs(&[
            ("off_hours_activity", "ag_0559"),
            ("off_hours_activity", "ag_2200")
        ])
    );
    let anomaly = &detect["anomalies"][1];
    assert_eq!(anomaly["severity"], "low");
    assert_eq!(
        anomaly["description"],
        "Agent ag_2200 performed 11 actions outside business hours (22:00\u{2013}06:00 UTC) in the last 24 hours."
    );
    assert_eq!(
        anomaly["metadata"],
        json!({"count": 11, "windowHours": 24, "threshold": 10})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn off_hours_window_is_the_last_24_hours() {
    let server = server_at("2026-11-25T03:00:00.000Z").await;
    let key = server.api_key().to_owned();
    record_n(
        &server,
        10,
        AuditEntry::new("ag_in").at(at("2026-11-25T01:00:00.000Z")),
    );
    server.record_audit(
        &key,
        AuditEntry::new("ag_in").at(at("2026-11-24T03:00:00.000Z")),
    );
    record_n(
        &server,
        10,
        AuditEntry::new("ag_out").at(at("2026-11-25T01:00:00.000Z")),
    );
    server.record_audit(
        &key,
        AuditEntry::new("ag_out").at(at("2026-11-24T02:59:59.999Z")),
    );
    let api = Api::new(&server);
    assert_eq!(
        summary(&api.detect().await),
        pairs(&[("off_hours_activity", "ag_in")])
    );

    // An hour later the oldest entry has left the window.
    server.clock().advance(Duration::from_secs(3600));
    assert_eq!(api.detect().await["total"], 0);
}
