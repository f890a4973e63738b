//! Seeding over HTTP and from fixtures.

use grantex_server::{TestServer, Timestamp};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{at, pairs, server_at, summary, Api};

#[tokio::test(flavor = "multi_thread")]
async fn audit_log_route_records_entries_the_rules_see() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let api = Api::new(&server);
    let log = format!("{}/v1/audit/log", server.url());
    let entry = json!({"agentId": "ag_http", "agentDid": "did:grantex:ag_http", "grantId": "grnt_1",
                       "principalId": "user_1", "action": "email.send", "metadata": {"to": "x"},
                       "status": "failure", "timestamp": "2026-11-25T11:30:00.000Z"});
    let response = api
        .http
        .post(&log)
        .bearer_auth(&api.key)
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert!(created["id"].as_str().unwrap().starts_with("alog_"));
    assert_eq!(created["entryId"], created["id"]);
    for field in [
        "agentId",
        "agentDid",
        "grantId",
        "principalId",
        "action",
        "metadata",
        "status",
        "timestamp",
    ] {
        assert_eq!(created[field], entry[field], "{field}");
    }
    // Defaults: status success, timestamp now.
    let minimal = json!({"agentId": "ag_http", "agentDid": "d", "grantId": "g", "principalId": "p", "action": "a"});
    for _ in 0..4 {
        let created: Value = api
            .http
            .post(&log)
            .bearer_auth(&api.key)
            .json(&minimal)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(created["status"], "success");
        assert_eq!(created["timestamp"], "2026-11-25T12:00:00.000Z");
    }
    // 1 failure in 5 is exactly 20%: not over the threshold. One more failure is.
    assert_eq!(api.detect().await["total"], 0);
    let response = api
        .http
        .post(&log)
        .bearer_auth(&api.key)
        .json(&entry)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let detect = api.detect().await;
    assert_eq!(summary(&detect), pairs(&[("high_failure_rate", "ag_http")]));
    assert_eq!(detect["anomalies"][0]["metadata"]["badCount"], 2);

    let invalid = [
        (
            json!({"agentId": "a"}),
            "agentId, agentDid, grantId, principalId, and action are required",
        ),
        (
            json!({"agentId": "", "agentDid": "d", "grantId": "g", "principalId": "p", "action": "a"}),
            "agentId, agentDid, grantId, principalId, and action are required",
        ),
        (
            json!({"agentId": "a", "agentDid": "d", "grantId": "g", "principalId": "p", "action": "a", "status": "meh"}),
            "status must be success, failure, or blocked",
        ),
        (
            json!({"agentId": "a", "agentDid": "d", "grantId": "g", "principalId": "p", "action": "a", "metadata": [1]}),
            "metadata must be an object",
        ),
        (
            json!({"agentId": "a", "agentDid": "d", "grantId": "g", "principalId": "p", "action": "a", "timestamp": "yesterday"}),
            "timestamp must be an RFC 3339 date-time",
        ),
    ];
    for (body, message) in invalid {
        let response = api
            .http
            .post(&log)
            .bearer_auth(&api.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.json::<Value>().await.unwrap()["message"], message);
    }
    let unauthenticated = api.http.post(&log).json(&minimal).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn test_routes_seed_grants_fixtures_and_move_the_clock() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    let url = server.url();

    let clock: Value = api
        .http
        .post(format!("{url}/v1/test/clock"))
        .json(&json!({"set": "2026-11-25T12:00:00.000Z", "advanceMs": 1500}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        clock,
        json!({"now": "2026-11-25T12:00:01.500Z", "frozen": true})
    );
    assert_eq!(server.clock().now(), at("2026-11-25T12:00:01.500Z"));

    let grant = api
        .http
        .post(format!("{url}/v1/test/grants"))
        .bearer_auth(&api.key)
        .json(&json!({"agentId": "ag_g", "principalId": "user_g", "issuedAt": "now-1h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::CREATED);
    assert_eq!(
        grant.json::<Value>().await.unwrap()["issuedAt"],
        "2026-11-25T11:00:01.500Z"
    );

    let fixture = json!({"auditEntries": [{"agentId": "ag_f", "status": "blocked", "repeat": 5, "timestamp": "now-2h"}]});
    let loaded = api
        .http
        .post(format!("{url}/v1/test/fixture"))
        .bearer_auth(&api.key)
        .json(&fixture)
        .send()
        .await
        .unwrap();
    assert_eq!(loaded.status(), StatusCode::CREATED);
    assert_eq!(
        loaded.json::<Value>().await.unwrap(),
        json!({"auditEntries": 5, "grants": 0})
    );
    let bad = api
        .http
        .post(format!("{url}/v1/test/fixture"))
        .bearer_auth(&api.key)
        .json(&json!({"auditEntries": [{}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let anonymous = api
        .http
        .post(format!("{url}/v1/test/grants"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(
        summary(&api.detect().await),
        pairs(&[("high_failure_rate", "ag_f"), ("new_principal", "ag_g")])
    );

    let keys = api
        .http
        .post(format!("{url}/v1/test/keys"))
        .json(&json!({"apiKey": "gx_second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), StatusCode::CREATED);
    assert_eq!(
        Api::with_key(&server, "gx_second").list("").await["total"],
        0
    );

    let reset: Value = api
        .http
        .post(format!("{url}/v1/test/clock"))
        .json(&json!({"reset": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset["frozen"], false);
    let drift = server.clock().now().unix_millis() - Timestamp::now_system().unix_millis();
    assert!(drift.abs() < 5_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn fixtures_load_through_the_rust_api() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    let fixture = json!({
        "auditEntries": [
            {"agentId": "ag_busy", "repeat": 51, "timestamp": "now-30m"},
            {"agentId": "ag_night", "repeat": 11, "timestamp": "2026-11-25T02:00:00Z"}
        ],
        "grants": [{"agentId": "ag_busy", "principalId": "user_1", "issuedAt": "now-2d"}]
    });
    let summary_counts = server.load_fixture(server.api_key(), &fixture).unwrap();
    assert_eq!(
        (summary_counts.audit_entries, summary_counts.grants),
        (62, 1)
    );
    assert_eq!(
        summary(&Api::new(&server).detect().await),
        pairs(&[
            ("rate_spike", "ag_busy"),
            ("off_hours_activity", "ag_night")
        ])
    );
    let stored = server.anomalies(server.api_key());
    let kinds: Vec<(&str, &Value)> = stored
        .iter()
        .map(|a| (a.kind.as_str(), &a.metadata["count"]))
        .collect();
    // Newest first; the two share a detection time, so the later-found comes first.
    assert_eq!(
        kinds,
        [
            ("off_hours_activity", &json!(11)),
            ("rate_spike", &json!(51))
        ]
    );

    // An invalid fixture loads nothing.
    let err = server
        .load_fixture(
            server.api_key(),
            &json!({"auditEntries": [{"agentId": "x", "repeat": 60}, {"agentId": 5}]}),
        )
        .unwrap_err();
    assert!(err.to_string().contains("invalid fixture"), "{err}");
    assert_eq!(Api::new(&server).detect().await["total"], 2);
}
