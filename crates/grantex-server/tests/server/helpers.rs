//! What the test modules share: a frozen-clock server, an HTTP client for one
//! account, and assertions on bodies and headers.

use grantex_server::{AuditEntry, TestServer, Timestamp};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::Value;

pub fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// A server whose clock is frozen at `now`.
pub async fn server_at(now: &str) -> TestServer {
    let server = TestServer::start().await.unwrap();
    server.clock().set(at(now));
    server
}

/// An HTTP client for one account of one server.
pub struct Api {
    pub http: Client,
    pub url: String,
    pub key: String,
}

impl Api {
    pub fn new(server: &TestServer) -> Api {
        Api::with_key(server, server.api_key())
    }

    pub fn with_key(server: &TestServer, key: &str) -> Api {
        Api {
            http: Client::new(),
            url: server.url(),
            key: key.to_owned(),
        }
    }

    pub async fn detect_response(&self) -> Response {
        self.http
            .post(format!("{}/v1/anomalies/detect", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }

    /// Runs detection and returns the body (asserting 200).
    pub async fn detect(&self) -> Value {
        let response = self.detect_response().await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn list_response(&self, query: &str) -> Response {
        self.http
            .get(format!("{}/v1/anomalies{query}", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }

    pub async fn list(&self, query: &str) -> Value {
        let response = self.list_response(query).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// `method path` with the key and, if given, a JSON body.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Method::GET, path, None).await
    }

    /// `GET path`, asserting 200; the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn acknowledge(&self, id: &str) -> Response {
        self.http
            .patch(format!("{}/v1/anomalies/{id}/acknowledge", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }
}

/// (type, agentId) of each anomaly in a detect or list body.
pub fn summary(body: &Value) -> Vec<(String, String)> {
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

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

pub fn record_n(server: &TestServer, n: usize, entry: AuditEntry) {
    for _ in 0..n {
        server.record_audit(server.api_key(), entry.clone());
    }
}

pub fn is_uuid_like(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

pub fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

/// Asserts an application error `{message, code, requestId}` with this status.
pub async fn assert_error(response: Response, status: StatusCode, message: &str) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["message", "code", "requestId"], "{body}");
    assert_eq!(body["message"], message, "{body}");
    let code = match status.as_u16() {
        400 => "BAD_REQUEST",
        401 => "UNAUTHORIZED",
        404 => "NOT_FOUND",
        _ => panic!("unexpected status {status}"),
    };
    assert_eq!(body["code"], code, "{body}");
    assert!(is_uuid_like(body["requestId"].as_str().unwrap()), "{body}");
}

/// The keys of a JSON object, in order.
pub fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}
