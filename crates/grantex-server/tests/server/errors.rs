//! Errors.

use grantex_server::{AuditEntry, TestServer};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{at, header, is_uuid_like, record_n, server_at, Api};

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
    // Noon: at night the same activity is also `off_hours_activity`.
    server.clock().set(at("2026-11-25T12:00:00Z"));
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
