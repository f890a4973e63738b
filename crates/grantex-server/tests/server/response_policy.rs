//! `/v1/irregularities/response-policy` and auto-revocation in detect.

use std::time::Duration;

use grantex_server::{AuditEntry, AuditStatus, Grant, ResponseMode, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, record_n, server_at, Api};

const POLICY: &str = "/v1/irregularities/response-policy";

async fn set_mode(api: &Api, body: Option<Value>) -> reqwest::Response {
    api.send(Method::PATCH, POLICY, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn get_and_set_the_mode_per_account() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let raw = api.get(POLICY).await.text().await.unwrap();
    assert_eq!(raw, r#"{"mode":"revoke_agent_grants"}"#);

    let response = set_mode(&api, Some(json!({"mode": "alert_only"}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), r#"{"mode":"alert_only"}"#);
    assert_eq!(api.get_ok(POLICY).await, json!({"mode": "alert_only"}));
    assert_eq!(
        server.response_policy(server.api_key()),
        ResponseMode::AlertOnly
    );
    // Setting the same mode again is fine.
    assert_eq!(
        set_mode(&api, Some(json!({"mode": "alert_only"})))
            .await
            .status(),
        StatusCode::OK
    );

    for body in [
        Some(json!({"mode": "none"})),
        Some(json!({"mode": "ALERT_ONLY"})),
        Some(json!({"mode": null})),
        Some(json!({"mode": ["alert_only"]})),
        Some(json!({})),
        Some(json!("alert_only")),
        None,
    ] {
        assert_error(
            set_mode(&api, body).await,
            StatusCode::BAD_REQUEST,
            "mode must be alert_only or revoke_agent_grants",
        )
        .await;
    }
    assert_eq!(api.get_ok(POLICY).await, json!({"mode": "alert_only"}));

    // Another account keeps the default.
    server.add_api_key("gx_other");
    let other = Api::with_key(&server, "gx_other");
    assert_eq!(
        other.get_ok(POLICY).await,
        json!({"mode": "revoke_agent_grants"})
    );

    // Without a key: 401.
    let response = reqwest::Client::new()
        .patch(format!("{}{POLICY}", server.url()))
        .json(&json!({"mode": "alert_only"}))
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "Missing or invalid Authorization header",
    )
    .await;

    let response = set_mode(&api, Some(json!({"mode": "revoke_agent_grants"}))).await;
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"mode": "revoke_agent_grants"})
    );
}

/// Grants: two for `ag_busy` (which gets a high `rate_spike`), one for `ag_fail`
/// (medium `high_failure_rate`), one for `ag_quiet` (no anomaly but a low
/// `new_principal`, as every fresh grant).
fn seed(server: &TestServer) {
    let key = server.api_key();
    record_n(server, 51, AuditEntry::new("ag_busy"));
    record_n(
        server,
        5,
        AuditEntry::new("ag_fail").status(AuditStatus::Failure),
    );
    server.record_grant(key, Grant::new("ag_busy", "user_a"));
    server.record_grant(key, Grant::new("ag_busy", "user_b"));
    server.record_grant(key, Grant::new("ag_fail", "user_a"));
    server.record_grant(key, Grant::new("ag_quiet", "user_a"));
}

fn revoked(server: &TestServer) -> Vec<(String, bool)> {
    server
        .grants(server.api_key())
        .into_iter()
        .map(|g| {
            (
                format!("{}/{}", g.agent_id, g.principal_id),
                g.revoked_at.is_some(),
            )
        })
        .collect()
}

fn expect(pairs: &[(&str, bool)]) -> Vec<(String, bool)> {
    pairs.iter().map(|(g, r)| (g.to_string(), *r)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn revoke_agent_grants_revokes_the_grants_of_agents_with_high_anomalies() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    seed(&server);

    let raw = api.detect_response().await.text().await.unwrap();
    assert!(
        raw.starts_with(r#"{"detectedAt":"2026-11-25T12:00:00.000Z","total":6,"autoRevokedGrants":2,"responseMode":"revoke_agent_grants","anomalies":["#),
        "{raw}"
    );
    assert_eq!(
        revoked(&server),
        expect(&[
            ("ag_busy/user_a", true),
            ("ag_busy/user_b", true),
            ("ag_fail/user_a", false),
            ("ag_quiet/user_a", false),
        ])
    );
    let grants = server.grants(server.api_key());
    assert_eq!(
        grants[0].revoked_at,
        Some(crate::helpers::at("2026-11-25T12:00:00.000Z"))
    );
    assert!(grants[0].id.starts_with("grnt_"));

    // Already revoked: nothing more to revoke. A new grant for the agent is revoked by
    // the next run.
    server.clock().advance(Duration::from_secs(1));
    assert_eq!(api.detect().await["autoRevokedGrants"], 0);
    server.record_grant(server.api_key(), Grant::new("ag_busy", "user_c"));
    server.clock().advance(Duration::from_secs(1));
    let detect = api.detect().await;
    assert_eq!(detect["autoRevokedGrants"], 1);
    assert_eq!(detect["responseMode"], "revoke_agent_grants");

    // Another account's grants are never touched.
    server.add_api_key("gx_other");
    server.record_grant("gx_other", Grant::new("ag_busy", "user_a"));
    server.clock().advance(Duration::from_secs(1));
    assert_eq!(api.detect().await["autoRevokedGrants"], 0);
    assert_eq!(server.grants("gx_other")[0].revoked_at, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn alert_only_revokes_nothing() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    seed(&server);
    set_mode(&api, Some(json!({"mode": "alert_only"}))).await;

    let detect = api.detect().await;
    assert_eq!(detect["total"], 6);
    assert_eq!(detect["autoRevokedGrants"], 0);
    assert_eq!(detect["responseMode"], "alert_only");
    assert!(revoked(&server).iter().all(|(_, r)| !r));
    // The anomalies are stored as usual.
    assert_eq!(
        api.get_ok("/v1/anomaly/alerts?severity=high").await["data"][0]["agentId"],
        "ag_busy"
    );

    // Back to revoking (through the Rust API this time): the next run revokes.
    server.set_response_policy(server.api_key(), ResponseMode::RevokeAgentGrants);
    server.clock().advance(Duration::from_secs(1));
    let detect = api.detect().await;
    assert_eq!(detect["autoRevokedGrants"], 2);
    assert_eq!(detect["responseMode"], "revoke_agent_grants");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_detect_carries_the_mode() {
    let server = TestServer::builder().demo(true).start().await.unwrap();
    let api = Api::with_key(&server, "gx_demo_policy");
    let detect = api.detect().await;
    assert_eq!(detect["total"], 4);
    // The demo's high anomaly (seed_ag_spike) has no stored grant to revoke.
    assert_eq!(detect["autoRevokedGrants"], 0);
    assert_eq!(detect["responseMode"], "revoke_agent_grants");
}

/// Every new route: the key is required, the plan limit counts it, faults apply.
#[tokio::test(flavor = "multi_thread")]
async fn every_new_route_needs_the_key_counts_against_the_plan_and_can_be_faulted() {
    use grantex_server::{Fault, FaultAction, RateLimits};

    let server = TestServer::builder()
        .rate_limits(RateLimits::hosted())
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let routes: [(Method, &str); 14] = [
        (Method::GET, "/v1/anomaly/alerts"),
        (Method::GET, "/v1/anomaly/alerts/x"),
        (Method::POST, "/v1/anomaly/alerts/x/acknowledge"),
        (Method::POST, "/v1/anomaly/alerts/x/resolve"),
        (Method::GET, "/v1/anomaly/metrics"),
        (Method::GET, "/v1/anomaly/rules"),
        (Method::POST, "/v1/anomaly/rules"),
        (Method::PATCH, "/v1/anomaly/rules/x"),
        (Method::DELETE, "/v1/anomaly/rules/x"),
        (Method::GET, "/v1/anomaly/channels"),
        (Method::POST, "/v1/anomaly/channels"),
        (Method::DELETE, "/v1/anomaly/channels/x"),
        (Method::GET, POLICY),
        (Method::PATCH, POLICY),
    ];
    let anonymous = reqwest::Client::new();
    for (method, path) in &routes {
        let response = anonymous
            .request(method.clone(), format!("{}{path}", server.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        let response = anonymous
            .request(method.clone(), format!("{}{path}", server.url()))
            .bearer_auth("gx_unknown")
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "Invalid API key").await;
    }

    // Each authenticated call counts against the plan (100/min on the hosted plan).
    for (i, (method, path)) in routes.iter().enumerate() {
        let response = api.send(method.clone(), path, None).await;
        assert_ne!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        assert_eq!(
            crate::helpers::header(&response, "x-ratelimit-remaining"),
            Some((99 - i).to_string().as_str()),
            "{method} {path}"
        );
    }

    // A status fault on each route answers before the route.
    for (method, path) in &routes {
        server.inject_fault(
            Fault::new(FaultAction::Status {
                status: 503,
                body: None,
                retry_after: None,
            })
            .method(method.as_str())
            .path(*path),
        );
        let response = api.send(method.clone(), path, None).await;
        assert_eq!(
            response.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}"
        );
    }
    assert_eq!(server.pending_faults(), 0);
}
