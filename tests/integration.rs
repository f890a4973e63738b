//! The client against the project's own Grantex server (`grantex_server`), over 127.0.0.1:
//! the documented flows end to end, and the server's faults as the client sees them.

use std::time::{Duration, Instant};

use grantex::{Error, Grantex, ListAnomaliesParams};
use grantex_server::{AuditEntry, AuditStatus, Fault, FaultAction, RateLimits, TestServer};
use serde_json::json;

async fn demo_server() -> TestServer {
    TestServer::builder().demo(true).start().await.unwrap()
}

fn client_for(server: &TestServer, key: &str) -> Grantex {
    Grantex::builder()
        .api_key(key)
        .base_url(server.url())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_and_acknowledge_flow_end_to_end() {
    let server = demo_server().await;
    let client = client_for(&server, "gx_live_...");

    let detection = client.anomalies().detect().await.unwrap();
    assert_eq!(detection.total, 4);
    let mut kinds: Vec<_> = detection
        .anomalies
        .iter()
        .map(|a| a.type_.clone())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "high_failure_rate",
            "new_principal",
            "off_hours_activity",
            "rate_spike"
        ]
    );
    let spike = detection
        .anomalies
        .iter()
        .find(|a| a.type_ == "rate_spike")
        .unwrap();
    assert_eq!(
        spike.metadata,
        json!({"count": 55, "windowHours": 1, "threshold": 50})
    );

    let open = client
        .anomalies()
        .list(ListAnomaliesParams {
            unacknowledged: true,
        })
        .await
        .unwrap();
    assert_eq!(open.total, 4);
    // The server sends metadata as a JSON string in lists: the user still gets the object.
    let listed = open.anomalies.iter().find(|a| a.id == spike.id).unwrap();
    assert_eq!(listed.metadata, spike.metadata);

    for anomaly in &detection.anomalies {
        let done = client.anomalies().acknowledge(&anomaly.id).await.unwrap();
        assert_eq!(done.id, anomaly.id);
        assert!(done.acknowledged_at.is_some());
    }
    let open = client
        .anomalies()
        .list(ListAnomaliesParams {
            unacknowledged: true,
        })
        .await
        .unwrap();
    assert_eq!(open.total, 0);
    // The documentation's acknowledge example id exists in demo mode, already acknowledged.
    let doc = client.anomalies().acknowledge("anom_abc123").await.unwrap();
    assert!(doc.acknowledged_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_isolated_and_unknown_ids_are_not_found() {
    let server = demo_server().await;
    let alice = client_for(&server, "gx_alice");
    let bob = client_for(&server, "gx_bob");
    let found = alice.anomalies().detect().await.unwrap();

    let error = bob
        .anomalies()
        .acknowledge(&found.anomalies[0].id)
        .await
        .unwrap_err();
    let api = error.as_api().unwrap();
    assert_eq!((api.status, api.code.as_deref()), (404, Some("NOT_FOUND")));
    assert!(api.request_id.is_some());

    let error = alice
        .anomalies()
        .acknowledge("nonexistent-id")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_an_authentication_error() {
    let server = TestServer::builder().start().await.unwrap();
    let error = client_for(&server, "gx_not_a_key")
        .anomalies()
        .detect()
        .await
        .unwrap_err();
    assert!(error.is_auth(), "{error:?}");
    assert_eq!(error.as_api().unwrap().message, "Invalid API key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_seeded_through_the_server_reach_the_client() {
    let server = TestServer::builder().start().await.unwrap();
    let key = server.api_key().to_owned();
    for i in 0..10 {
        let status = if i < 3 {
            AuditStatus::Failure
        } else {
            AuditStatus::Success
        };
        server.record_audit(&key, AuditEntry::new("ag_flaky").status(status));
    }
    let found = client_for(&server, &key)
        .anomalies()
        .detect()
        .await
        .unwrap();
    let [anomaly] = &found.anomalies[..] else {
        panic!("{found:?}")
    };
    assert_eq!(
        (anomaly.type_.as_str(), anomaly.severity.as_str()),
        ("high_failure_rate", "medium")
    );
    assert_eq!(
        anomaly.description,
        "Agent ag_flaky has 30% failure/blocked rate over the last 24 hours (3/10)."
    );
}

fn fault(action: FaultAction, times: u32) -> Fault {
    Fault::new(action).path("/v1/anomalies*").times(times)
}

fn status(status: u16, retry_after: Option<u64>) -> FaultAction {
    FaultAction::Status {
        status,
        body: None,
        retry_after,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_503s_are_retried_until_the_real_answer() {
    let server = demo_server().await;
    server.inject_fault(fault(status(503, None), 2));
    let client = client_for(&server, "gx_k");
    assert_eq!(client.anomalies().detect().await.unwrap().total, 4);
    assert_eq!(server.pending_faults(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_429_with_retry_after_is_waited_for() {
    let server = demo_server().await;
    server.inject_fault(fault(status(429, Some(1)), 1));
    let client = client_for(&server, "gx_k");
    let started = Instant::now();
    client.anomalies().list(Default::default()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_without_retries_surface_as_typed_errors() {
    let server = demo_server().await;
    let client = Grantex::builder()
        .api_key("gx_k")
        .base_url(server.url())
        .max_retries(0)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let list = || client.anomalies().list(Default::default());

    server.inject_fault(fault(status(503, None), 1));
    let error = list().await.unwrap_err();
    assert_eq!(
        error.as_api().map(|e| (e.status, e.code.clone())),
        Some((503, Some("INJECTED_FAULT".into())))
    );

    server.inject_fault(fault(FaultAction::Drop, 1));
    assert!(matches!(list().await.unwrap_err(), Error::Network { .. }));

    server.inject_fault(fault(FaultAction::Delay(Duration::from_secs(3)), 1));
    assert!(matches!(list().await.unwrap_err(), Error::Timeout { .. }));

    server.inject_fault(fault(FaultAction::MalformedBody, 1));
    assert!(matches!(
        list().await.unwrap_err(),
        Error::Decode { status: 200, .. }
    ));

    assert_eq!(
        list().await.unwrap().total,
        1,
        "the demo's acknowledged anomaly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_retried_transparently() {
    let server = demo_server().await;
    server.inject_fault(fault(FaultAction::Drop, 2));
    let client = client_for(&server, "gx_k");
    assert_eq!(client.anomalies().detect().await.unwrap().total, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosted_rate_limits_are_reported_and_enforced() {
    let server = TestServer::builder()
        .demo(true)
        .rate_limits(RateLimits::hosted())
        .start()
        .await
        .unwrap();
    let client = Grantex::builder()
        .api_key("gx_k")
        .base_url(server.url())
        .max_retries(0)
        .build()
        .unwrap();
    client.anomalies().list(Default::default()).await.unwrap();
    let rate = client.last_rate_limit().unwrap();
    assert_eq!((rate.limit, rate.remaining), (100, 99));

    for _ in 0..30 {
        client.anomalies().detect().await.unwrap();
    }
    let error = client.anomalies().detect().await.unwrap_err();
    let api = error.as_api().unwrap();
    assert_eq!(api.status, 429);
    assert_eq!(api.retry_after, Some(Duration::from_secs(60)));
    assert_eq!(client.last_rate_limit().unwrap().retry_after, Some(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_concurrent_clients_all_succeed() {
    let server = demo_server().await;
    let url = server.url();
    let calls = (0..300).map(|i| {
        let client = Grantex::builder()
            .api_key(format!("gx_user_{}", i % 20))
            .base_url(&url)
            .max_retries(0)
            .build()
            .unwrap();
        tokio::spawn(async move {
            match i % 3 {
                0 => client.anomalies().detect().await.map(|r| r.total),
                1 => client
                    .anomalies()
                    .list(Default::default())
                    .await
                    .map(|r| r.total),
                _ => client
                    .anomalies()
                    .acknowledge("anom_abc123")
                    .await
                    .map(|_| 1),
            }
        })
    });
    let results = futures_join(calls.collect()).await;
    let failures: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
}

async fn futures_join(
    handles: Vec<tokio::task::JoinHandle<Result<i64, Error>>>,
) -> Vec<Result<i64, Error>> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// The three checks any Grantex server must pass, made through the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_checks() {
    let server = TestServer::builder().start().await.unwrap();
    let client = client_for(&server, server.api_key());
    let detection = client.anomalies().detect().await.unwrap();
    assert_eq!(detection.total as usize, detection.anomalies.len());
    assert!(!detection.detected_at.is_empty());
    let list = client.anomalies().list(Default::default()).await.unwrap();
    assert_eq!(list.total as usize, list.anomalies.len());
    let error = client
        .anomalies()
        .acknowledge("nonexistent-id")
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(404));
}

/// The rest of the API against the local server: the alert lifecycle, metrics, rules,
/// channels, and the response policy with auto-revocation.
#[tokio::test]
async fn the_whole_anomalies_api_against_the_local_server() {
    let server = demo_server().await;
    let client = client_for(&server, "gx_whole_api");
    let anomalies = client.anomalies();

    // A grant to the demo's spiking agent: revoked by detect under revoke_agent_grants.
    server.record_audit("gx_whole_api", AuditEntry::new("seed_ag_spike"));
    server.record_grant(
        "gx_whole_api",
        grantex_server::Grant::new("seed_ag_spike", "user_spike"),
    );
    assert_eq!(
        anomalies.response_policy().await.unwrap(),
        "revoke_agent_grants"
    );
    let found = anomalies.detect().await.unwrap();
    assert_eq!(found.response_mode, "revoke_agent_grants");
    assert!(found.auto_revoked_grants >= 1, "{found:?}");
    anomalies
        .set_response_policy(grantex::ResponseMode::AlertOnly)
        .await
        .unwrap();
    let again = anomalies.detect().await.unwrap();
    assert_eq!(
        (again.response_mode.as_str(), again.auto_revoked_grants),
        ("alert_only", 0)
    );

    let open = anomalies
        .list_alerts(grantex::ListAlertsParams {
            status: Some("open".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let first = &open[0].alert_id;
    assert_eq!(
        anomalies
            .acknowledge_alert(first, Some("looking"))
            .await
            .unwrap()
            .status,
        "acknowledged"
    );
    assert_eq!(
        anomalies.resolve_alert(first, None).await.unwrap().status,
        "resolved"
    );
    let metrics = anomalies.metrics(Default::default()).await.unwrap();
    assert_eq!(metrics.by_status["resolved"], json!(1));

    let rule = anomalies
        .create_rule(grantex::NewAnomalyRule {
            rule_id: "email_flood".into(),
            name: "Email Flood Detection".into(),
            condition: json!({"threshold": 50}).as_object().cloned(),
            severity: Some("critical".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(rule.id.as_deref().unwrap().starts_with("arule_"));
    assert!(
        !anomalies
            .toggle_rule("email_flood", false)
            .await
            .unwrap()
            .enabled
    );
    let listed = anomalies.list_rules().await.unwrap();
    let stored = listed.iter().find(|r| r.rule_id == "email_flood").unwrap();
    assert_eq!(
        stored.condition.as_ref().unwrap(),
        &json!({"threshold": 50})
    );
    anomalies.delete_rule("email_flood").await.unwrap();
    assert!(matches!(
        anomalies.toggle_rule("AD-001", false).await,
        Err(Error::InvalidArgument(_))
    ));

    let channel = anomalies
        .create_channel(grantex::NewAlertChannel {
            type_: "webhook".into(),
            name: "hook".into(),
            config: json!({"url": "http://127.0.0.1:9/secret"})
                .as_object()
                .cloned()
                .unwrap(),
            severities: None,
        })
        .await
        .unwrap();
    let channels = anomalies.list_channels().await.unwrap();
    assert_eq!(
        channels[0].config,
        json!({"url": "http://127.0.0.1:9/secret"})
    );
    assert_eq!(channels[0].severities, ["critical", "high"]);
    anomalies.delete_channel(&channel.id).await.unwrap();
    assert!(anomalies.list_channels().await.unwrap().is_empty());
    server.shutdown().await;
}
