//! The server cannot be exhausted: stalled connections are closed, connections are
//! capped, each account's data is capped, and a fault pattern cannot stall it.

use std::time::{Duration, Instant};

use grantex_server::{
    AuditEntry, Fault, FaultAction, StorageLimits, TestServer, TestServerBuilder,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{at, keys, summary, Api};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A server whose clock is frozen at noon UTC: detection results must not depend on the
/// hour the tests run (22:00 to 06:00 UTC adds `off_hours_activity`).
async fn start(builder: TestServerBuilder) -> TestServer {
    let server = builder.start().await.unwrap();
    server.clock().set(at("2026-11-25T12:00:00Z"));
    server
}

async fn connect(server: &TestServer) -> TcpStream {
    TcpStream::connect(server.addr()).await.unwrap()
}

/// Sends `GET path` on a raw connection and reads the response: its status.
async fn raw_get(stream: &mut TcpStream, path: &str, key: &str) -> u16 {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    read_response(stream).await
}

/// Reads one response (headers, then a `content-length` body): its status.
async fn read_response(stream: &mut TcpStream) -> u16 {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before a response: {data:?}");
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    while data.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed in the body");
        data.extend_from_slice(&chunk[..n]);
    }
    head[9..12].parse().unwrap()
}

/// Waits (up to `limit`) until the server closes `stream`; how long that took, or
/// `None` if it stayed open.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_beyond_the_old_limit_are_closed() {
    // About 507 idle connections used to exhaust 1,024 descriptors for good. (At most
    // 64 served at once: 128 descriptors in the server, beside the test's 520.)
    let server = start(
        TestServer::builder()
            .header_read_timeout(ms(100))
            .idle_timeout(ms(1000))
            .max_connections(64),
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..520 {
        idle.push(connect(&server).await);
    }
    let started = Instant::now();
    let closing: Vec<_> = idle
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move { closed_within(&mut stream, Duration::from_secs(10)).await })
        })
        .collect();
    // A new client is served meanwhile (behind the idle ones: they are closed first).
    let response = Api::new(&server).list_response("").await;
    assert_eq!(response.status(), StatusCode::OK);
    for task in closing {
        assert!(
            task.await.unwrap().is_some(),
            "an idle connection stayed open"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let server = start(
        TestServer::builder()
            .header_read_timeout(ms(200))
            .idle_timeout(ms(1000)),
    )
    .await;
    let mut stream = connect(&server).await;
    assert_eq!(
        raw_get(&mut stream, "/v1/anomalies", server.api_key()).await,
        200
    );
    // Idle past the header-read timeout: still open, the idle timeout applies.
    tokio::time::sleep(ms(500)).await;
    assert_eq!(
        raw_get(&mut stream, "/v1/anomalies", server.api_key()).await,
        200
    );
    let idle = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("an idle kept-alive connection stayed open");
    assert!(
        idle >= ms(800),
        "closed after {idle:?}, before the idle timeout"
    );
    assert!(idle < ms(2500), "closed after {idle:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_headers_are_cut_off_after_the_header_read_timeout() {
    let server = start(
        TestServer::builder()
            .header_read_timeout(ms(500))
            .idle_timeout(Duration::from_secs(30)),
    )
    .await;
    let (mut reader, mut writer) = connect(&server).await.into_split();
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        let headers = b"GET /v1/anomalies HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".iter();
        for &byte in headers.chain(std::iter::repeat(&b'a')) {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(ms(20)).await;
        }
    });
    let mut chunk = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut chunk)).await;
    let elapsed = started.elapsed();
    trickle.abort();
    match closed {
        Ok(Ok(0) | Err(_)) => {}
        Ok(Ok(n)) => panic!("an answer instead of a close: {:?}", &chunk[..n]),
        Err(_) => panic!("a connection trickling its headers stayed open"),
    }
    assert!(elapsed >= ms(400), "closed after {elapsed:?}");
    assert!(elapsed < ms(2000), "closed after {elapsed:?}");
    // Other clients are unaffected.
    assert_eq!(
        Api::new(&server).list_response("").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_does_not_arrive_is_answered_408() {
    let server = start(TestServer::builder().header_read_timeout(ms(300))).await;
    let mut stream = connect(&server).await;
    let request = format!(
        "POST /v1/audit/log HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"agentId\"",
        server.api_key()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(5), read_response(&mut stream))
        .await
        .expect("no answer to a stalled body");
    assert_eq!(status, 408);
    assert!(started.elapsed() < ms(2000), "{:?}", started.elapsed());
}

/// A raw connection partway through a request's headers (not idle: never closed to
/// make room).
async fn half_request(server: &TestServer) -> TcpStream {
    let mut stream = connect(server).await;
    stream
        .write_all(b"GET /v1/anomalies HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connection_cap_holds_new_connections_until_one_closes() {
    let server = start(
        TestServer::builder()
            .max_connections(4)
            .header_read_timeout(Duration::from_secs(30)),
    )
    .await;
    let mut busy = Vec::new();
    for _ in 0..4 {
        busy.push(half_request(&server).await);
    }
    tokio::time::sleep(ms(100)).await;
    let api = Api::new(&server);
    let url = format!("{}/v1/anomalies", server.url());
    let held = api
        .http
        .get(&url)
        .bearer_auth(&api.key)
        .timeout(ms(700))
        .send()
        .await;
    assert!(
        held.as_ref().is_err_and(reqwest::Error::is_timeout),
        "a fifth connection was served at a cap of 4: {held:?}"
    );
    // The connections already open are still served.
    let mut first = busy.remove(0);
    first
        .write_all(format!("Authorization: Bearer {}\r\n\r\n", server.api_key()).as_bytes())
        .await
        .unwrap();
    assert_eq!(read_response(&mut first).await, 200);
    drop(first);
    drop(busy);
    // Room again: served at once.
    let started = Instant::now();
    let response = Client::new()
        .get(&url)
        .bearer_auth(server.api_key())
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() < ms(1000), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn at_the_cap_the_longest_idle_connection_makes_room() {
    let server = start(TestServer::builder().max_connections(3)).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&server).await;
        assert_eq!(
            raw_get(&mut stream, "/v1/anomalies", server.api_key()).await,
            200
        );
        idle.push(stream);
        tokio::time::sleep(ms(50)).await;
    }
    tokio::time::sleep(ms(600)).await;
    let started = Instant::now();
    let response = Client::new()
        .get(format!("{}/v1/anomalies", server.url()))
        .bearer_auth(server.api_key())
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() < ms(1000), "{:?}", started.elapsed());
    // The one idle the longest was closed; the others are still served.
    assert!(closed_within(&mut idle[0], ms(500)).await.is_some());
    for stream in &mut idle[1..] {
        assert_eq!(
            raw_get(stream, "/v1/anomalies", server.api_key()).await,
            200
        );
    }
}

fn audit_body(agent: &str, metadata: Value) -> Value {
    json!({"agentId": agent, "agentDid": "did:x", "grantId": "g", "principalId": "p",
           "action": "a.b", "metadata": metadata})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_audit_log_keeps_the_newest_entries_within_the_cap() {
    let server = start(TestServer::builder().storage_limits(StorageLimits {
        audit_entries: 60,
        ..StorageLimits::default()
    }))
    .await;
    let api = Api::new(&server);
    for agent in ["ag_old", "ag_new"] {
        for _ in 0..51 {
            let response = api
                .send(
                    Method::POST,
                    "/v1/audit/log",
                    Some(audit_body(agent, json!({}))),
                )
                .await;
            assert_eq!(response.status(), StatusCode::CREATED);
        }
    }
    assert_eq!(server.audit_count(server.api_key()), 60);
    // 42 of ag_old's entries were dropped: only ag_new still spikes.
    let found = api.detect().await;
    assert_eq!(
        summary(&found),
        [("rate_spike".to_owned(), "ag_new".to_owned())]
    );
    // Entries recorded in-process are capped the same way.
    for _ in 0..100 {
        server.record_audit(server.api_key(), AuditEntry::new("ag_local"));
    }
    assert_eq!(server.audit_count(server.api_key()), 60);
    let found = api.detect().await;
    assert_eq!(
        summary(&found),
        [("rate_spike".to_owned(), "ag_local".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn large_audit_entries_are_bounded_by_the_byte_budget() {
    let server = start(TestServer::builder().storage_limits(StorageLimits {
        collection_bytes: 3 << 20,
        ..StorageLimits::default()
    }))
    .await;
    let api = Api::new(&server);
    let big = "x".repeat(1_000_000);
    for i in 0..6 {
        let response = api
            .send(
                Method::POST,
                "/v1/audit/log",
                Some(audit_body(&format!("ag_{i}"), json!({ "blob": big }))),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let kept = server.audit_count(server.api_key());
    assert!((1..=3).contains(&kept), "{kept} entries of 1 MB kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fixture_cannot_expand_past_the_audit_cap() {
    let server = start(TestServer::builder()).await;
    let api = Api::new(&server);
    let fixture = json!({"auditEntries": [
        {"agentId": "a", "repeat": 100_000},
        {"agentId": "b", "repeat": 100_000},
    ]});
    let response = api
        .send(Method::POST, "/v1/test/fixture", Some(fixture))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("more than 100000 audit entries"),
        "{body}"
    );
    assert_eq!(server.audit_count(server.api_key()), 0);
}

async fn assert_413(response: reqwest::Response, message_start: &str) {
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(keys(&body), ["message", "code", "requestId"], "{body}");
    assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");
    let message = body["message"].as_str().unwrap();
    assert!(message.starts_with(message_start), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_and_channels_beyond_the_cap_are_refused_with_413() {
    let server = start(TestServer::builder().storage_limits(StorageLimits {
        rules: 2,
        channels: 2,
        ..StorageLimits::default()
    }))
    .await;
    let api = Api::new(&server);
    let rule = || json!({"ruleId": "r", "name": "n", "condition": {"a": 1}});
    let channel = || json!({"type": "webhook", "name": "n", "config": {"url": "http://x"}});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let created = api
            .send(Method::POST, "/v1/anomaly/rules", Some(rule()))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        ids.push(created.json::<Value>().await.unwrap()["id"].clone());
        let created = api
            .send(Method::POST, "/v1/anomaly/channels", Some(channel()))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let refused = api
        .send(Method::POST, "/v1/anomaly/rules", Some(rule()))
        .await;
    assert_413(refused, "Too many custom rules").await;
    let refused = api
        .send(Method::POST, "/v1/anomaly/channels", Some(channel()))
        .await;
    assert_413(refused, "Too many notification channels").await;
    let rules = api.get_ok("/v1/anomaly/rules").await;
    assert_eq!(rules["rules"].as_array().unwrap().len(), 10 + 2);

    // Deleting one makes room.
    let id = ids[0].as_str().unwrap();
    let deleted = api
        .send(Method::DELETE, &format!("/v1/anomaly/rules/{id}"), None)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let created = api
        .send(Method::POST, "/v1/anomaly/rules", Some(rule()))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    // Bytes count too: a rule that would take the account past its budget.
    let server = start(TestServer::builder().storage_limits(StorageLimits {
        collection_bytes: 10_000,
        ..StorageLimits::default()
    }))
    .await;
    let api = Api::new(&server);
    let big = json!({"ruleId": "r", "name": "n", "condition": {"blob": "x".repeat(20_000)}});
    let refused = api.send(Method::POST, "/v1/anomaly/rules", Some(big)).await;
    assert_413(refused, "Custom rules too large").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_anomalies_drop_the_earliest_acknowledged_beyond_the_cap() {
    let server = start(TestServer::builder().storage_limits(StorageLimits {
        anomalies: 3,
        collection_bytes: 100_000,
        ..StorageLimits::default()
    }))
    .await;
    let api = Api::new(&server);
    for agent in ["ag_a", "ag_b"] {
        for _ in 0..51 {
            server.record_audit(server.api_key(), AuditEntry::new(agent));
        }
    }
    let first = api.detect().await;
    assert_eq!(first["total"], 2);
    let first_ids: Vec<String> = first["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &first_ids {
        assert_eq!(api.acknowledge(id).await.status(), StatusCode::OK);
    }
    let second = api.detect().await;
    assert_eq!(second["total"], 2);
    // 2 acknowledged + 2 new > 3: the earliest acknowledged one is gone.
    let stored: Vec<String> = server
        .anomalies(server.api_key())
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(!stored.contains(&first_ids[0]), "{stored:?}");
    assert!(stored.contains(&first_ids[1]), "{stored:?}");

    // A detection run stores (and reports) at most the cap.
    for agent in ["ag_c", "ag_d", "ag_e"] {
        for _ in 0..51 {
            server.record_audit(server.api_key(), AuditEntry::new(agent));
        }
    }
    let third = api.detect().await;
    assert_eq!(third["total"], 3);
    assert_eq!(server.anomalies(server.api_key()).len(), 3);

    // Alert notes count against the byte budget.
    let alert = &third["anomalies"][0]["id"];
    let path = format!("/v1/anomaly/alerts/{}/acknowledge", alert.as_str().unwrap());
    let refused = api
        .send(
            Method::POST,
            &path,
            Some(json!({"note": "n".repeat(150_000)})),
        )
        .await;
    assert_413(refused, "Alert note too large").await;
    let accepted = api
        .send(Method::POST, &path, Some(json!({"note": "checked"})))
        .await;
    assert_eq!(accepted.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_path_against_a_pathological_fault_pattern_does_not_stall_the_server() {
    let server = TestServer::start().await.unwrap();
    // Quadratic for a backtracking matcher (5 s for this path in a debug build), and
    // it used to run under the lock every request takes.
    let pattern = format!("*{}b", "a".repeat(30_000));
    server.inject_fault(
        Fault::new(FaultAction::Status {
            status: 503,
            body: None,
            retry_after: None,
        })
        .path(pattern),
    );
    let long_path = format!("/{}", "a".repeat(60_000));
    let url = server.url();
    let key = server.api_key().to_owned();
    let long = {
        let (url, key) = (url.clone(), key.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let response = Client::new()
                .get(format!("{url}{long_path}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            (response.status(), started.elapsed())
        })
    };
    tokio::time::sleep(ms(20)).await;
    let api = Api::new(&server);
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(api.list_response("").await.status(), StatusCode::OK);
        slowest = slowest.max(started.elapsed());
    }
    let (status, elapsed) = long.await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND, "the pattern does not match");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert!(
        slowest < Duration::from_secs(1),
        "another client waited {slowest:?}"
    );
    // The fault still applies where it matches.
    let matching = Client::new()
        .get(format!("{url}/{}b", "a".repeat(60_000)))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(matching.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_mode_opens_no_more_accounts_than_the_limit() {
    let server = start(
        TestServer::builder()
            .demo(true)
            .storage_limits(StorageLimits {
                accounts: 3,
                ..StorageLimits::default()
            }),
    )
    .await;
    for key in ["gx_1", "gx_2", "gx_3"] {
        let api = Api::with_key(&server, key);
        assert_eq!(api.detect().await["total"], 4);
    }
    let refused = Api::with_key(&server, "gx_4").detect_response().await;
    assert_413(refused, "Too many accounts").await;
    // The accounts already open carry on.
    assert_eq!(Api::with_key(&server, "gx_1").detect().await["total"], 4);
    let refused = Api::with_key(&server, "gx_1")
        .send(
            Method::POST,
            "/v1/test/keys",
            Some(json!({"apiKey": "gx_5"})),
        )
        .await;
    assert_413(refused, "Too many API keys").await;
}
