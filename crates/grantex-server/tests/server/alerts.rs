//! Alerts: the stored anomalies through `/v1/anomaly/alerts`, their filters and their
//! lifecycle, next to the legacy acknowledge.

use std::time::Duration;

use grantex_server::{AuditEntry, AuditStatus, Grant, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, keys, record_n, server_at, Api};

/// Three anomalies from one detect run at 12:00: a high `rate_spike` (`ag_busy`), a
/// medium `high_failure_rate` (`ag_fail`), a low `new_principal` (`ag_new`). Returns
/// their ids in that order.
async fn three_anomalies(server: &TestServer, api: &Api) -> [String; 3] {
    record_n(server, 51, AuditEntry::new("ag_busy"));
    record_n(
        server,
        5,
        AuditEntry::new("ag_fail").status(AuditStatus::Failure),
    );
    server.record_grant(server.api_key(), Grant::new("ag_new", "user_new"));
    let detect = api.detect().await;
    let id = |i: usize| detect["anomalies"][i]["id"].as_str().unwrap().to_owned();
    assert_eq!(detect["total"], 3);
    [id(0), id(1), id(2)]
}

fn alert_ids(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alertId"].as_str().unwrap())
        .collect()
}

async fn post(api: &Api, path: &str, body: Option<Value>) -> reqwest::Response {
    api.send(Method::POST, path, body).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_stored_anomaly_is_an_alert_in_the_wire_shape() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let [busy, fail, new] = three_anomalies(&server, &api).await;

    let response = api.get("/v1/anomaly/alerts").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let raw = response.text().await.unwrap();
    assert!(raw.starts_with(r#"{"data":[{"alertId":""#), "{raw}");
    assert!(raw.contains(&format!(
        r#"{{"alertId":"{busy}","ruleId":null,"ruleName":"rate_spike","severity":"high","status":"open","agentId":"ag_busy","detectedAt":"2026-11-25T12:00:00.000Z","description":"Agent ag_busy performed 51 actions in the last hour (threshold: 50).","context":{{}},"acknowledgedAt":null,"resolvedAt":null}}"#
    )), "{raw}");
    let body: Value = serde_json::from_str(&raw).unwrap();
    // Newest first; one run's anomalies in reverse rule order, as the legacy list.
    assert_eq!(
        alert_ids(&body),
        [new.as_str(), fail.as_str(), busy.as_str()]
    );
    let legacy: Vec<String> = api.list("").await["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(alert_ids(&body), legacy);
    assert_eq!(
        keys(&body["data"][0]),
        [
            "alertId",
            "ruleId",
            "ruleName",
            "severity",
            "status",
            "agentId",
            "detectedAt",
            "description",
            "context",
            "acknowledgedAt",
            "resolvedAt"
        ]
    );
    // The metadata is not shown: context is {} whatever the rule.
    for alert in body["data"].as_array().unwrap() {
        assert_eq!(alert["context"], json!({}));
    }

    let one = api.get_ok(&format!("/v1/anomaly/alerts/{fail}")).await;
    assert_eq!(one, body["data"][1]);

    // An account without anomalies.
    server.add_api_key("gx_empty");
    let empty = Api::with_key(&server, "gx_empty");
    assert_eq!(
        empty.get_ok("/v1/anomaly/alerts").await,
        json!({"data": []})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_and_limit() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let [busy, fail, new] = three_anomalies(&server, &api).await;
    api.send(
        Method::POST,
        &format!("/v1/anomaly/alerts/{fail}/acknowledge"),
        None,
    )
    .await;

    let ids = |query: &'static str| {
        let api = &api;
        async move {
            let body = api.get_ok(&format!("/v1/anomaly/alerts{query}")).await;
            alert_ids(&body)
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("?status=open").await, [new.as_str(), busy.as_str()]);
    assert_eq!(ids("?status=acknowledged").await, [fail.as_str()]);
    assert!(ids("?status=resolved").await.is_empty());
    assert_eq!(ids("?severity=high").await, [busy.as_str()]);
    assert_eq!(ids("?severity=low").await, [new.as_str()]);
    assert!(ids("?severity=critical").await.is_empty());
    assert_eq!(ids("?agentId=ag_fail").await, [fail.as_str()]);
    assert!(ids("?agentId=ag_nobody").await.is_empty());
    assert_eq!(
        ids("?status=open&severity=low&limit=2").await,
        [new.as_str()]
    );
    assert_eq!(ids("?status=open&agentId=ag_busy").await, [busy.as_str()]);
    // An empty value passes the check and matches nothing.
    assert!(ids("?status=").await.is_empty());
    assert!(ids("?severity=").await.is_empty());
    assert!(ids("?agentId=").await.is_empty());
    // A repeated agentId is an array: it matches nothing.
    assert!(ids("?agentId=ag_fail&agentId=ag_fail").await.is_empty());

    // limit: parseInt, then `|| 100`, then 1..=1000.
    assert_eq!(ids("?limit=2").await, [new.as_str(), fail.as_str()]);
    assert_eq!(ids("?limit=1").await, [new.as_str()]);
    assert_eq!(ids("?limit=-5").await, [new.as_str()]);
    assert_eq!(ids("?limit=2abc").await.len(), 2);
    assert_eq!(ids("?limit=0").await.len(), 3);
    assert_eq!(ids("?limit=abc").await.len(), 3);
    assert_eq!(ids("?limit=").await.len(), 3);
    assert_eq!(ids("?limit=5000").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_limit_is_100_and_the_largest_1000() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    // 1001 agents with 51 actions each: 1001 rate spikes in one run.
    for agent in 0..1001 {
        for _ in 0..51 {
            server.record_audit(server.api_key(), AuditEntry::new(format!("ag_{agent}")));
        }
    }
    assert_eq!(api.detect().await["total"], 1001);
    let count = |query: &'static str| {
        let api = &api;
        async move {
            api.get_ok(&format!("/v1/anomaly/alerts{query}")).await["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(count("").await, 100);
    assert_eq!(count("?limit=1000").await, 1000);
    assert_eq!(count("?limit=1001").await, 1000);
    assert_eq!(count("?limit=999").await, 999);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_status_and_severity_are_400() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    for query in [
        "?status=bogus",
        "?status=Open",
        "?status=open&status=open",
        "?status=bogus&severity=bogus",
    ] {
        assert_error(
            api.get(&format!("/v1/anomaly/alerts{query}")).await,
            StatusCode::BAD_REQUEST,
            "Invalid status. Must be one of: open, acknowledged, resolved",
        )
        .await;
    }
    for query in [
        "?severity=bogus",
        "?severity=HIGH",
        "?severity=low&severity=low",
    ] {
        assert_error(
            api.get(&format!("/v1/anomaly/alerts{query}")).await,
            StatusCode::BAD_REQUEST,
            "Invalid severity. Must be one of: critical, high, medium, low",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_alerts_are_404_and_accounts_are_isolated() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let [busy, _, _] = three_anomalies(&server, &api).await;
    for response in [
        api.get("/v1/anomaly/alerts/nonexistent").await,
        post(&api, "/v1/anomaly/alerts/nonexistent/acknowledge", None).await,
        post(&api, "/v1/anomaly/alerts/nonexistent/resolve", None).await,
        post(
            &api,
            "/v1/anomaly/alerts/nonexistent/resolve",
            Some(json!({"note": "x"})),
        )
        .await,
    ] {
        assert_error(response, StatusCode::NOT_FOUND, "Alert not found").await;
    }

    server.add_api_key("gx_other");
    let other = Api::with_key(&server, "gx_other");
    assert_eq!(
        other.get_ok("/v1/anomaly/alerts").await,
        json!({"data": []})
    );
    for response in [
        other.get(&format!("/v1/anomaly/alerts/{busy}")).await,
        post(
            &other,
            &format!("/v1/anomaly/alerts/{busy}/acknowledge"),
            None,
        )
        .await,
        post(&other, &format!("/v1/anomaly/alerts/{busy}/resolve"), None).await,
    ] {
        assert_error(response, StatusCode::NOT_FOUND, "Alert not found").await;
    }
    // Still open for its owner.
    assert_eq!(
        api.get_ok(&format!("/v1/anomaly/alerts/{busy}")).await["status"],
        "open"
    );
    // Without a key: 401, as on every hosted route.
    let response = reqwest::Client::new()
        .get(format!("{}/v1/anomaly/alerts", server.url()))
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::UNAUTHORIZED,
        "Missing or invalid Authorization header",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_acknowledge_then_resolve_with_notes() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let [busy, fail, _] = three_anomalies(&server, &api).await;

    server.clock().advance(Duration::from_millis(700));
    let response = post(
        &api,
        &format!("/v1/anomaly/alerts/{busy}/acknowledge"),
        Some(json!({"note": "seen"})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let acked: Value = response.json().await.unwrap();
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledgedAt"], "2026-11-25T12:00:00.700Z");
    assert_eq!(acked["resolvedAt"], Value::Null);
    assert_eq!(acked["alertId"], busy.as_str());
    // The note is stored, never returned.
    assert!(acked.get("note").is_none() && !acked.to_string().contains("seen"));
    let stored = |id: &str| {
        server
            .anomalies(server.api_key())
            .into_iter()
            .find(|a| a.id == id)
            .unwrap()
    };
    assert_eq!(stored(&busy).note.as_deref(), Some("seen"));
    assert_eq!(stored(&busy).status, "acknowledged");

    server.clock().advance(Duration::from_millis(17));
    // No body: the note stays.
    let resolved: Value = post(&api, &format!("/v1/anomaly/alerts/{busy}/resolve"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["acknowledgedAt"], "2026-11-25T12:00:00.700Z");
    assert_eq!(resolved["resolvedAt"], "2026-11-25T12:00:00.717Z");
    assert_eq!(stored(&busy).note.as_deref(), Some("seen"));
    assert_eq!(
        stored(&busy).resolved_at,
        Some(crate::helpers::at("2026-11-25T12:00:00.717Z"))
    );
    assert_eq!(
        api.get_ok(&format!("/v1/anomaly/alerts/{busy}")).await,
        resolved
    );

    // Resolving an open alert directly does not set acknowledgedAt; a note replaces
    // the stored one; a null note does not.
    let resolved: Value = post(
        &api,
        &format!("/v1/anomaly/alerts/{fail}/resolve"),
        Some(json!({"note": "fixed"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["acknowledgedAt"], Value::Null);
    assert_eq!(resolved["resolvedAt"], "2026-11-25T12:00:00.717Z");
    assert_eq!(stored(&fail).note.as_deref(), Some("fixed"));
    post(
        &api,
        &format!("/v1/anomaly/alerts/{fail}/resolve"),
        Some(json!({"note": null})),
    )
    .await;
    assert_eq!(stored(&fail).note.as_deref(), Some("fixed"));

    // No transition is refused: acknowledging a resolved alert makes it acknowledged
    // again (resolvedAt stays).
    server.clock().advance(Duration::from_secs(1));
    let again: Value = post(
        &api,
        &format!("/v1/anomaly/alerts/{fail}/acknowledge"),
        Some(json!({})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again["status"], "acknowledged");
    assert_eq!(again["acknowledgedAt"], "2026-11-25T12:00:01.717Z");
    assert_eq!(again["resolvedAt"], "2026-11-25T12:00:00.717Z");

    // A JSON content type with an empty body is rejected before the route.
    let response = api
        .http
        .post(format!("{}/v1/anomaly/alerts/{fail}/resolve", api.url))
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "Body cannot be empty when content-type is set to 'application/json'",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_legacy_acknowledge_sets_acknowledged_at_but_not_the_status() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let [busy, fail, new] = three_anomalies(&server, &api).await;

    server.clock().advance(Duration::from_secs(1));
    let legacy: Value = api.acknowledge(&busy).await.json().await.unwrap();
    assert_eq!(legacy["acknowledgedAt"], "2026-11-25T12:00:01.000Z");
    assert!(legacy.get("status").is_none());
    let alert = api.get_ok(&format!("/v1/anomaly/alerts/{busy}")).await;
    assert_eq!(alert["status"], "open");
    assert_eq!(alert["acknowledgedAt"], "2026-11-25T12:00:01.000Z");
    // Still open for the status filter.
    let open = api.get_ok("/v1/anomaly/alerts?status=open").await;
    assert!(alert_ids(&open).contains(&busy.as_str()));

    // Resolved through the alert routes, never acknowledged: still "unacknowledged"
    // for the legacy list.
    post(&api, &format!("/v1/anomaly/alerts/{new}/resolve"), None).await;
    let unacknowledged = api.list("?unacknowledged=true").await;
    let ids: Vec<&str> = unacknowledged["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [new.as_str(), fail.as_str()]);
    // The legacy shape is unchanged by the alert operations.
    let listed = &api.list("").await["anomalies"][0];
    assert_eq!(
        keys(listed),
        [
            "id",
            "type",
            "severity",
            "agentId",
            "principalId",
            "description",
            "metadata",
            "detectedAt",
            "acknowledgedAt"
        ]
    );

    // Acknowledged through the alert route: acknowledgedAt is set, so the next detect
    // keeps it; the resolved-but-unacknowledged one is replaced like any
    // unacknowledged anomaly.
    post(
        &api,
        &format!("/v1/anomaly/alerts/{fail}/acknowledge"),
        None,
    )
    .await;
    server.clock().advance(Duration::from_secs(1));
    let fresh = api.detect().await;
    assert_eq!(fresh["total"], 3);
    let all = api.get_ok("/v1/anomaly/alerts").await;
    let kept: Vec<(&str, &str)> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["detectedAt"] == "2026-11-25T12:00:00.000Z")
        .map(|a| {
            (
                a["alertId"].as_str().unwrap(),
                a["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [(fail.as_str(), "acknowledged"), (busy.as_str(), "open")]
    );
    assert_eq!(all["data"].as_array().unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_demo_account_has_an_open_alert_for_the_documentation_examples() {
    let server = TestServer::builder().demo(true).start().await.unwrap();
    let api = Api::with_key(&server, "gx_docs");
    // `client.anomalies.list_alerts(status="open")` before any detect run.
    let open = api.get_ok("/v1/anomaly/alerts?status=open").await;
    assert_eq!(alert_ids(&open), ["anom_abc123"]);
    let alert = &open["data"][0];
    assert_eq!(alert["ruleName"], "rate_spike");
    assert_eq!(alert["status"], "open");
    assert!(alert["acknowledgedAt"].is_string(), "{alert}");

    // acknowledge_alert(alerts[0].alert_id, note="Investigating"), then resolve.
    let acked: Value = post(
        &api,
        "/v1/anomaly/alerts/anom_abc123/acknowledge",
        Some(json!({"note": "Investigating"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(acked["status"], "acknowledged");
    let resolved: Value = post(
        &api,
        "/v1/anomaly/alerts/anom_abc123/resolve",
        Some(json!({"note": "False positive"})),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(resolved["status"], "resolved");

    // After a detect run the demo's four anomalies are open alerts too.
    api.detect().await;
    let open = api.get_ok("/v1/anomaly/alerts?status=open").await;
    assert_eq!(open["data"].as_array().unwrap().len(), 4);
    let metrics = api.get_ok("/v1/anomaly/metrics").await;
    assert_eq!(
        metrics["byStatus"],
        json!({"open": 4, "acknowledged": 0, "resolved": 0})
    );
}
