//! The local Grantex server over real sockets, seen from an HTTP client (reqwest).

use std::time::{Duration, Instant};

use grantex_server::{
    AuditEntry, AuditStatus, Fault, FaultAction, Grant, RateLimit, RateLimits, TestServer,
    Timestamp,
};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// A server whose clock is frozen at `now`.
async fn server_at(now: &str) -> TestServer {
    let server = TestServer::start().await.unwrap();
    server.clock().set(at(now));
    server
}

/// An HTTP client for one account of one server.
struct Api {
    http: Client,
    url: String,
    key: String,
}

impl Api {
    fn new(server: &TestServer) -> Api {
        Api::with_key(server, server.api_key())
    }

    fn with_key(server: &TestServer, key: &str) -> Api {
        Api {
            http: Client::new(),
            url: server.url(),
            key: key.to_owned(),
        }
    }

    async fn detect_response(&self) -> Response {
        self.http
            .post(format!("{}/v1/anomalies/detect", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }

    /// Runs detection and returns the body (asserting 200).
    async fn detect(&self) -> Value {
        let response = self.detect_response().await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn list_response(&self, query: &str) -> Response {
        self.http
            .get(format!("{}/v1/anomalies{query}", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }

    async fn list(&self, query: &str) -> Value {
        let response = self.list_response(query).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn acknowledge(&self, id: &str) -> Response {
        self.http
            .patch(format!("{}/v1/anomalies/{id}/acknowledge", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }
}

/// (type, agentId) of each anomaly in a detect or list body.
fn summary(body: &Value) -> Vec<(String, String)> {
    body["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap().to_owned(),
                a["agentId"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn record_n(server: &TestServer, n: usize, entry: AuditEntry) {
    for _ in 0..n {
        server.record_audit(server.api_key(), entry.clone());
    }
}

fn is_uuid_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

// ---------------------------------------------------------------------------
// Conformance with the hosted API

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
    assert!(raw.starts_with(r#"{"detectedAt":"2026-11-25T06:07:19.432Z","total":4,"autoRevokedGrants":0,"anomalies":[{"id":"anm_"#), "{raw}");
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

// ---------------------------------------------------------------------------
// The rules at, under and over their thresholds

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

// ---------------------------------------------------------------------------
// Stored anomalies

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

// ---------------------------------------------------------------------------
// Errors

#[tokio::test(flavor = "multi_thread")]
async fn unauthorized_shapes() {
    let server = TestServer::start().await.unwrap();
    let http = Client::new();
    let url = format!("{}/v1/anomalies", server.url());
    let missing = "Missing or invalid Authorization header";
    let cases: Vec<(Option<&str>, &str)> = vec![
        (None, missing),
        (Some("Basic dXNlcjpwYXNz"), missing),
        (Some("Bearer"), missing),
        (Some("Bearer   "), missing),
        (Some("Bearer gx_unknown"), "Invalid API key"),
    ];
    for (authorization, message) in cases {
        let mut request = http.get(&url);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        assert!(header(&response, "x-ratelimit-limit").is_some());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], message, "{authorization:?}");
        assert_eq!(body["code"], "UNAUTHORIZED");
        assert!(is_uuid_like(body["requestId"].as_str().unwrap()));
    }
    // The scheme is case-insensitive, the key is not.
    let ok = http
        .get(&url)
        .header("authorization", format!("bearer {}", server.api_key()))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let upper = server.api_key().to_uppercase();
    let bad = http.get(&url).bearer_auth(upper).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn accept_any_key_makes_each_key_its_own_account() {
    let server = TestServer::builder()
        .accept_any_key(true)
        .start()
        .await
        .unwrap();
    let a = Api::with_key(&server, "gx_live_anything");
    let b = Api::with_key(&server, "another-key");
    server.record_audit("gx_live_anything", AuditEntry::new("ag_x"));
    for _ in 0..50 {
        server.record_audit("gx_live_anything", AuditEntry::new("ag_x"));
    }
    assert_eq!(a.detect().await["total"], 1);
    assert_eq!(b.detect().await["total"], 0);
    assert_eq!(b.list("").await["total"], 0);
    // Without demo mode nothing is seeded.
    assert!(server.anomalies("another-key").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_mode_seeds_every_new_account() {
    let server = TestServer::builder().demo(true).start().await.unwrap();
    for key in ["gx_live_...", "gx_live_other"] {
        let api = Api::with_key(&server, key);
        let detection = api.detect().await;
        assert_eq!(detection["total"], 4);
        // The documentation's monitor-and-acknowledge loop.
        for anomaly in detection["anomalies"].as_array().unwrap() {
            let response = api.acknowledge(anomaly["id"].as_str().unwrap()).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert_eq!(api.list("?unacknowledged=true").await["total"], 0);
        assert_eq!(
            api.acknowledge("anom_abc123").await.status(),
            StatusCode::OK
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_routes_and_wrong_methods_get_the_framework_404() {
    let server = TestServer::start().await.unwrap();
    let http = Client::new();
    let url = server.url();
    let key = server.api_key();
    let cases = [
        (
            http.post(format!("{url}/v1/anomalies/xyz/acknowledge")),
            "Route POST:/v1/anomalies/xyz/acknowledge not found",
        ),
        (
            http.get(format!("{url}/v1/anomalies/detect")),
            "Route GET:/v1/anomalies/detect not found",
        ),
        (
            http.delete(format!("{url}/v1/anomalies")),
            "Route DELETE:/v1/anomalies not found",
        ),
        (
            http.get(format!("{url}/v1/nope?x=1")),
            "Route GET:/v1/nope?x=1 not found",
        ),
        (
            http.patch(format!("{url}/v1/anomalies//acknowledge")),
            "Route PATCH:/v1/anomalies//acknowledge not found",
        ),
    ];
    for (request, message) in cases {
        let response = request.bearer_auth(key).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let raw = response.text().await.unwrap();
        assert_eq!(
            raw,
            format!(r#"{{"message":"{message}","error":"Not Found","statusCode":404}}"#)
        );
    }
    // Also without credentials.
    let response = http.get(format!("{url}/nothing")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_content_type_needs_a_well_formed_body() {
    let server = server_at("2026-11-25T12:00:00.000Z").await;
    record_n(&server, 51, AuditEntry::new("ag_busy"));
    let api = Api::new(&server);
    let id = api.detect().await["anomalies"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ack_url = format!("{}/v1/anomalies/{id}/acknowledge", server.url());

    let empty = api
        .http
        .patch(&ack_url)
        .bearer_auth(&api.key)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let body: Value = empty.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Body cannot be empty when content-type is set to 'application/json'"
    );
    assert_eq!(body["code"], "BAD_REQUEST");
    assert!(is_uuid_like(body["requestId"].as_str().unwrap()));
    // It was not acknowledged.
    assert_eq!(api.list("?unacknowledged=true").await["total"], 1);

    for malformed in ["{", "not json", "{\"a\":}", "\u{0}"] {
        let response = api
            .http
            .post(format!("{}/v1/anomalies/detect", server.url()))
            .bearer_auth(&api.key)
            .header("content-type", "application/json; charset=utf-8")
            .body(malformed)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{malformed:?}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["code"],
            "BAD_REQUEST"
        );
    }

    // `{}` or no content type at all is fine.
    let with_object = api
        .http
        .patch(&ack_url)
        .bearer_auth(&api.key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(with_object.status(), StatusCode::OK);
    let plain = api
        .http
        .patch(&ack_url)
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------
// Rate limits

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_headers_on_every_response() {
    let server = TestServer::start().await.unwrap();
    let api = Api::new(&server);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = api.list_response("").await;
        assert_eq!(header(&response, "x-ratelimit-limit"), Some("1000000"));
        let reset: u64 = header(&response, "x-ratelimit-reset")
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
        remaining.push(
            header(&response, "x-ratelimit-remaining")
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, [999_999, 999_998, 999_997]);
    for response in [api.detect_response().await, api.acknowledge("nope").await] {
        assert!(header(&response, "x-ratelimit-remaining").is_some());
    }

    // Disabled limits send no headers.
    server.set_rate_limits(RateLimits::disabled());
    assert!(header(&api.list_response("").await, "x-ratelimit-limit").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_limit_answers_429_with_retry_after_until_the_window_resets() {
    let server = TestServer::builder()
        .rate_limits(RateLimits {
            plan: Some(RateLimit::per_minute(3)),
            per_route: None,
            per_ip: None,
        })
        .start()
        .await
        .unwrap();
    server.clock().set(at("2026-11-25T12:00:00.000Z"));
    server.add_api_key("gx_other");
    let api = Api::new(&server);
    for expected in ["2", "1", "0"] {
        let response = api.list_response("").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, "x-ratelimit-limit"), Some("3"));
        assert_eq!(header(&response, "x-ratelimit-remaining"), Some(expected));
    }
    server.clock().advance(Duration::from_secs(36));
    let limited = api.list_response("").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "retry-after"), Some("24"));
    assert_eq!(header(&limited, "x-ratelimit-reset"), Some("24"));
    assert_eq!(header(&limited, "x-ratelimit-remaining"), Some("0"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Plan rate limit exceeded, retry in 24 seconds"
    );
    assert_eq!(body["code"], "RATE_LIMIT_EXCEEDED");
    // Across routes, per account.
    assert_eq!(
        api.detect_response().await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        Api::with_key(&server, "gx_other")
            .list_response("")
            .await
            .status(),
        StatusCode::OK
    );

    server.clock().advance(Duration::from_secs(24));
    assert_eq!(api.list_response("").await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_detect_limit_is_30_per_minute() {
    let server = TestServer::builder()
        .rate_limits(RateLimits::hosted())
        .start()
        .await
        .unwrap();
    server.clock().set(at("2026-11-25T12:00:00.000Z"));
    let api = Api::new(&server);
    for i in 0..30 {
        let response = api.detect_response().await;
        assert_eq!(response.status(), StatusCode::OK, "call {}", i + 1);
        // Successful calls report the plan limiter.
        assert_eq!(header(&response, "x-ratelimit-limit"), Some("100"));
    }
    let limited = api.detect_response().await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&limited, "x-ratelimit-limit"), Some("30"));
    assert_eq!(header(&limited, "x-ratelimit-remaining"), Some("0"));
    assert_eq!(header(&limited, "retry-after"), Some("60"));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["message"], "Rate limit exceeded, retry in 1 minute");
    assert_eq!(body["code"], "BAD_REQUEST");
    // Other routes still answer: 30 of the 100 plan calls are used.
    let list = api.list_response("").await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(header(&list, "x-ratelimit-remaining"), Some("69"));

    server.clock().advance(Duration::from_secs(60));
    assert_eq!(api.detect_response().await.status(), StatusCode::OK);
}

// ---------------------------------------------------------------------------
// Faults

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

// ---------------------------------------------------------------------------
// Seeding over HTTP and from fixtures

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

// ---------------------------------------------------------------------------
// Load and lifecycle

#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_concurrent_requests_all_succeed() {
    let server = TestServer::builder().demo(true).start().await.unwrap();
    let url = server.url();
    let http = Client::new();
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let http = http.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let key = format!("gx_load_{}", i % 10);
                let request = match i % 3 {
                    0 => http.post(format!("{url}/v1/anomalies/detect")),
                    1 => http.get(format!("{url}/v1/anomalies?unacknowledged=true")),
                    _ => http.patch(format!("{url}/v1/anomalies/anom_abc123/acknowledge")),
                };
                let response = request.bearer_auth(key).send().await?;
                let status = response.status();
                let body: Value = response.json().await?;
                Ok::<_, reqwest::Error>((status, body))
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap().unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        ok += 1;
    }
    assert_eq!(ok, 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_and_drop_stop_the_server() {
    let server = TestServer::start().await.unwrap();
    let url = format!("{}/v1/anomalies", server.url());
    let key = server.api_key().to_owned();
    let http = Client::new();
    assert!(http.get(&url).bearer_auth(&key).send().await.is_ok());
    server.shutdown().await;
    assert!(http.get(&url).bearer_auth(&key).send().await.is_err());

    let server = TestServer::start().await.unwrap();
    let url = format!("{}/v1/anomalies", server.url());
    drop(server);
    let mut stopped = false;
    for _ in 0..50 {
        if Client::new().get(&url).send().await.is_err() {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(stopped, "a dropped server keeps answering");
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_does_not_wait_for_a_long_delay() {
    let server = TestServer::start().await.unwrap();
    server.inject_fault(Fault::new(FaultAction::Delay(Duration::from_secs(30))));
    let api = Api::new(&server);
    let pending = tokio::spawn(async move { api.list_response("").await.status() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    server.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(pending);
}

/// The `grantex-server` binary: the ready line, a demo detect, and SIGTERM.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn binary_serves_until_sigterm() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_grantex-server"))
        .args(["--demo", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .map(|_| line)
    })
    .await
    .unwrap()
    .unwrap();
    let url = line
        .trim()
        .strip_prefix("Grantex test server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));

    let detect: Value = Client::new()
        .post(format!("{url}/v1/anomalies/detect"))
        .bearer_auth("gx_live_cli")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detect["total"], 4);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[cfg(unix)]
#[test]
fn binary_rejects_bad_arguments_with_usage() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_grantex-server"))
        .args(["--port", "not-a-port"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--port") && stderr.contains("usage: grantex-server"),
        "{stderr}"
    );
}
