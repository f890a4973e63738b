//! The rest of the anomalies API (alerts, metrics, rules, channels, response policy) against
//! the responses captured from the real server (`tests/fixtures/wire/lifecycle/`), over a
//! real socket.

mod common;

use common::{wire_body, Canned, CannedServer};
use grantex::{
    Error, ListAlertsParams, MetricsParams, NewAlertChannel, NewAnomalyRule, ResponseMode,
};
use serde_json::{json, Value};

fn lifecycle(name: &str) -> Canned {
    Canned::wire(&format!("lifecycle/{name}"))
}

fn body_of(request: &common::Recorded) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn alerts_their_filters_and_their_lifecycle() {
    let server = CannedServer::start([
        lifecycle("40-alerts"),
        lifecycle("41-alerts-filter"),
        lifecycle("45-alert-ack"),
        lifecycle("46-alert-resolve"),
        lifecycle("44-alert-get-unknown"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let anomalies = client.anomalies();

    let alerts = anomalies
        .list_alerts(ListAlertsParams::default())
        .await
        .unwrap();
    assert!(!alerts.is_empty());
    assert_eq!(alerts[0].rule_id, None);
    assert_eq!(alerts[0].context, json!({}));
    anomalies
        .list_alerts(ListAlertsParams {
            status: Some("open".into()),
            severity: Some("low".into()),
            agent_id: None,
            limit: Some(2),
        })
        .await
        .unwrap();
    let acked = anomalies
        .acknowledge_alert(&alerts[0].alert_id, Some("seen"))
        .await
        .unwrap();
    assert_eq!(acked.status, "acknowledged");
    let resolved = anomalies
        .resolve_alert(&alerts[0].alert_id, None)
        .await
        .unwrap();
    assert_eq!(resolved.status, "resolved");
    assert!(resolved.resolved_at.is_some());
    match anomalies.get_alert("nonexistent").await {
        Err(Error::Api(e)) => assert_eq!((e.status, e.code.as_deref()), (404, Some("NOT_FOUND"))),
        other => panic!("{other:?}"),
    }

    let requests = server.requests();
    assert_eq!(requests[0].target, "/v1/anomaly/alerts");
    assert_eq!(
        requests[1].target,
        "/v1/anomaly/alerts?limit=2&severity=low&status=open"
    );
    assert_eq!(requests[2].method, "POST");
    assert_eq!(body_of(&requests[2]), json!({"note": "seen"}));
    assert_eq!(body_of(&requests[3]), json!({}));
    assert!(matches!(
        anomalies.get_alert("..").await,
        Err(Error::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn metrics_and_a_bad_window() {
    let server =
        CannedServer::start([lifecycle("50-metrics"), lifecycle("52-metrics-bad-window")]).await;
    let client = server.client().build().unwrap();
    let metrics = client
        .anomalies()
        .metrics(MetricsParams::default())
        .await
        .unwrap();
    assert_eq!((metrics.window.as_str(), metrics.total), ("24h", 5));
    assert_eq!(
        Value::Object(metrics.by_status),
        json!({"open": 4, "acknowledged": 0, "resolved": 1})
    );
    let bad = client
        .anomalies()
        .metrics(MetricsParams {
            window: Some("7d".into()),
            agent_id: None,
        })
        .await;
    assert!(
        matches!(bad, Err(Error::Api(e)) if e.status == 400 && e.message.starts_with("Invalid window"))
    );
    assert_eq!(server.requests()[1].target, "/v1/anomaly/metrics?window=7d");
}

#[tokio::test]
async fn rules_decode_their_condition_and_are_toggled_by_rule_id() {
    let server = CannedServer::start([
        lifecycle("58-rules-after"),
        lifecycle("58-rules-after"),
        lifecycle("59-rule-disable"),
        lifecycle("55-rules"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let rules = client.anomalies().list_rules().await.unwrap();
    assert_eq!(rules.len(), 11);
    assert!(rules[..10].iter().all(|r| r.built_in && r.id.is_none()));
    let condition = json!({"action": "files.delete", "count": 5, "windowMinutes": 10});
    assert_eq!(rules[10].condition.as_ref().unwrap(), &condition);

    let toggled = client
        .anomalies()
        .toggle_rule("CUSTOM-001", false)
        .await
        .unwrap();
    assert!(!toggled.enabled);
    let requests = server.requests();
    let stored = rules[10].id.clone().unwrap();
    assert_eq!(requests[2].method, "PATCH");
    assert_eq!(requests[2].target, format!("/v1/anomaly/rules/{stored}"));
    assert_eq!(body_of(&requests[2]), json!({"enabled": false}));

    let built_in = client.anomalies().toggle_rule("AD-001", false).await;
    assert!(matches!(built_in, Err(Error::InvalidArgument(m)) if m.contains("built-in")));
    assert_eq!(server.requests().len(), 4, "nothing sent after the lookup");
}

#[tokio::test]
async fn create_and_delete_a_rule() {
    let created = wire_body("lifecycle/56-rule-create");
    let server = CannedServer::start([
        Canned::response(201, &[("content-type", "application/json")], &created),
        lifecycle("58-rules-after"),
        lifecycle("60-rule-delete"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let rule = client
        .anomalies()
        .create_rule(NewAnomalyRule {
            rule_id: "CUSTOM-001".into(),
            name: "Many deletes".into(),
            condition: Some(
                json!({"action": "files.delete"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rule.rule_id, "CUSTOM-001");
    assert_eq!(
        body_of(&server.requests()[0]),
        json!({"ruleId": "CUSTOM-001", "name": "Many deletes", "condition": {"action": "files.delete"}})
    );
    client.anomalies().delete_rule("CUSTOM-001").await.unwrap();
    assert_eq!(server.requests()[2].method, "DELETE");
}

#[tokio::test]
async fn channels_decode_their_config_and_keep_it_out_of_debug() {
    let created = wire_body("lifecycle/64-channel-create");
    let server = CannedServer::start([
        lifecycle("66-channels-after"),
        Canned::response(201, &[("content-type", "application/json")], &created),
        lifecycle("67-channel-delete"),
        lifecycle("65-channel-create-invalid"),
    ])
    .await;
    let client = server.client().build().unwrap();
    let channels = client.anomalies().list_channels().await.unwrap();
    assert_eq!(
        channels[0].config,
        json!({"url": "http://127.0.0.1:9/hook"})
    );
    assert!(!format!("{:?}", channels[0]).contains("127.0.0.1:9/hook"));
    let config = json!({"url": "http://127.0.0.1:9/hook"})
        .as_object()
        .unwrap()
        .clone();
    let channel = client
        .anomalies()
        .create_channel(NewAlertChannel {
            type_: "webhook".into(),
            name: "loopback hook".into(),
            config,
            severities: None,
        })
        .await
        .unwrap();
    client
        .anomalies()
        .delete_channel(&channel.id)
        .await
        .unwrap();
    let invalid = client
        .anomalies()
        .create_channel(NewAlertChannel {
            type_: "pager".into(),
            ..Default::default()
        })
        .await;
    assert!(matches!(invalid, Err(Error::Api(e)) if e.status == 400));
    let requests = server.requests();
    assert_eq!(body_of(&requests[1])["type"], "webhook");
    assert_eq!(
        requests[2].target,
        format!("/v1/anomaly/channels/{}", channel.id)
    );
}

#[tokio::test]
async fn response_policy_and_the_detect_fields() {
    let mut detect: Value = serde_json::from_str(&wire_body("detect-200")).unwrap();
    detect["responseMode"] = json!("alert_only");
    let server = CannedServer::start([
        Canned::response(
            200,
            &[("content-type", "application/json")],
            r#"{"mode":"revoke_agent_grants"}"#,
        ),
        Canned::response(
            200,
            &[("content-type", "application/json")],
            r#"{"mode":"alert_only"}"#,
        ),
        Canned::wire("detect-200"),
        Canned::response(
            200,
            &[("content-type", "application/json")],
            &detect.to_string(),
        ),
    ])
    .await;
    let client = server.client().build().unwrap();
    assert_eq!(
        client.anomalies().response_policy().await.unwrap(),
        "revoke_agent_grants"
    );
    let mode = client
        .anomalies()
        .set_response_policy(ResponseMode::AlertOnly)
        .await
        .unwrap();
    assert_eq!(mode, "alert_only");
    assert_eq!(
        body_of(&server.requests()[1]),
        json!({"mode": "alert_only"})
    );
    let older = client.anomalies().detect().await.unwrap();
    assert_eq!(older.response_mode, "revoke_agent_grants");
    assert_eq!(older.auto_revoked_grants, 1);
    let newer = client.anomalies().detect().await.unwrap();
    assert_eq!(newer.response_mode, "alert_only");
    assert!("revoke_everything".parse::<ResponseMode>().is_err());
}
