//! HTTP handling: one dispatcher in front of every route, so that the order of the
//! hosted server's stages is explicit: fault injection, route matching, per-IP
//! limit, body parsing, authentication, per-route limit, plan limit, handler.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::clock::{Clock, Timestamp};
use super::conn::ConnInfo;
use super::faults::{FaultAction, FaultQueue, FaultSpec};
use super::fixture;
use super::ids;
use super::ratelimit::{humanize, Decision, Limiter, Scope};
use super::state::{
    AuditEntry, AuditStatus, Grant, Metadata, Store, StoredAnomaly, StoredAudit, StoredGrant,
};

/// Largest request body accepted (the hosted framework's default is 1 MiB too).
const MAX_BODY_BYTES: usize = 1 << 20;

/// What a malformed-body fault sends: valid JSON cut off mid-string.
const TRUNCATED_BODY: &str =
    r#"{"detectedAt":"2026-11-25T06:07:19.432Z","total":4,"anomalies":[{"id":"anm_01M8"#;

/// Everything the handlers share. Each part has its own lock, held briefly and never
/// across an `.await`.
#[derive(Debug)]
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub limiter: Mutex<Limiter>,
    pub faults: Mutex<FaultQueue>,
    pub clock: Clock,
}

/// Locks a mutex even if a panicking thread poisoned it: the data behind these locks
/// is updated in single steps, so it stays consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

// ---------------------------------------------------------------------------
// Responses

/// The application's error shape: `{"message", "code", "requestId"}`.
fn app_error(status: StatusCode, message: &str, code: &str) -> Reply {
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        message: &'a str,
        code: &'a str,
        #[serde(rename = "requestId")]
        request_id: String,
    }
    Reply::json(
        status,
        &ErrorBody {
            message,
            code,
            request_id: ids::request_id(),
        },
    )
}

/// The framework's own 404: `{"message": "Route GET:/x not found", "error", "statusCode"}`.
fn route_not_found(method: &Method, path_and_query: &str) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct NotFoundBody {
        message: String,
        error: &'static str,
        status_code: u16,
    }
    Reply::json(
        StatusCode::NOT_FOUND,
        &NotFoundBody {
            message: format!("Route {method}:{path_and_query} not found"),
            error: "Not Found",
            status_code: 404,
        },
    )
}

/// A response under construction.
struct Reply {
    status: StatusCode,
    body: String,
    rate: Option<Decision>,
    retry_after: Option<u64>,
}

impl Reply {
    fn json(status: StatusCode, value: &impl Serialize) -> Reply {
        Reply {
            status,
            body: serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()),
            rate: None,
            retry_after: None,
        }
    }

    fn rate(mut self, rate: Option<Decision>) -> Reply {
        if rate.is_some() {
            self.rate = rate;
        }
        self
    }

    fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Some(rate) = self.rate {
            headers.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
            headers.insert("x-ratelimit-reset", HeaderValue::from(rate.reset_secs));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// An anomaly in the wire's key order; `M` is the metadata object (detect) or the
/// metadata as a JSON string (list, acknowledge).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnomalyJson<'a, M: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    severity: &'a str,
    agent_id: Option<&'a str>,
    principal_id: Option<&'a str>,
    description: &'a str,
    metadata: M,
    detected_at: Timestamp,
    acknowledged_at: Option<Timestamp>,
}

fn anomaly_json<M: Serialize>(a: &StoredAnomaly, metadata: M) -> AnomalyJson<'_, M> {
    AnomalyJson {
        id: &a.id,
        kind: a.finding.kind,
        severity: a.finding.severity,
        agent_id: a.finding.agent_id.as_deref(),
        principal_id: a.finding.principal_id.as_deref(),
        description: &a.finding.description,
        metadata,
        detected_at: a.detected_at,
        acknowledged_at: a.acknowledged_at,
    }
}

fn with_metadata_object(a: &StoredAnomaly) -> AnomalyJson<'_, &Metadata> {
    anomaly_json(a, &a.finding.metadata)
}

fn with_metadata_string(a: &StoredAnomaly) -> AnomalyJson<'_, String> {
    anomaly_json(a, a.finding.metadata.to_json_string())
}

// ---------------------------------------------------------------------------
// Dispatch

/// The API routes (the hosted paths).
enum Route {
    Detect,
    List,
    Acknowledge(String),
    AuditLog,
}

impl Route {
    fn matching(method: &Method, path: &str) -> Option<Route> {
        match (method.as_str(), path) {
            ("POST", "/v1/anomalies/detect") => Some(Route::Detect),
            // The hosted framework answers HEAD wherever it answers GET.
            ("GET" | "HEAD", "/v1/anomalies") => Some(Route::List),
            ("POST", "/v1/audit/log") => Some(Route::AuditLog),
            ("PATCH", _) => {
                let id = path
                    .strip_prefix("/v1/anomalies/")?
                    .strip_suffix("/acknowledge")?;
                if id.is_empty() || id.contains('/') {
                    return None;
                }
                Some(Route::Acknowledge(
                    percent_decode_str(id).decode_utf8_lossy().into_owned(),
                ))
            }
            _ => None,
        }
    }

    /// The per-route limiter this route is under, if any.
    fn limited_as(&self) -> Option<&'static str> {
        match self {
            Route::Detect => Some("detect"),
            Route::AuditLog => Some("audit_log"),
            Route::List | Route::Acknowledge(_) => None,
        }
    }
}

/// How the request authenticated.
enum Auth {
    Missing,
    Unknown,
    Account(String),
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn authenticate(shared: &Shared, headers: &HeaderMap, now: Timestamp) -> Auth {
    match bearer_token(headers) {
        None => Auth::Missing,
        Some(key) if lock(&shared.store).authenticate(key, now) => Auth::Account(key.to_owned()),
        Some(_) => Auth::Unknown,
    }
}

fn unauthorized(auth: &Auth) -> Reply {
    let message = match auth {
        Auth::Unknown => "Invalid API key",
        _ => "Missing or invalid Authorization header",
    };
    app_error(StatusCode::UNAUTHORIZED, message, "UNAUTHORIZED")
}

/// The parsed request body: `None` when there is none (or it is not JSON).
type JsonBody = Option<Value>;

/// Reads the body; a JSON content type requires a non-empty, well-formed body on
/// methods that carry one, as the hosted framework does.
async fn read_body(method: &Method, headers: &HeaderMap, body: Body) -> Result<JsonBody, Reply> {
    let bytes = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        app_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body is too large",
            "BAD_REQUEST",
        )
    })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json")
        });
    let has_body_method = matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE");
    if !is_json || !has_body_method {
        return Ok(None);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(app_error(
            StatusCode::BAD_REQUEST,
            "Body cannot be empty when content-type is set to 'application/json'",
            "BAD_REQUEST",
        ));
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        app_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid JSON body: {e}"),
            "BAD_REQUEST",
        )
    })
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());

    if path == "/v1/test" || path.starts_with("/v1/test/") {
        let reply = match read_body(&parts.method, &parts.headers, body).await {
            Ok(json) => test_route(
                &shared,
                &parts.method,
                &path,
                &path_and_query,
                &parts.headers,
                json,
            ),
            Err(reply) => reply,
        };
        return reply.into_response();
    }

    let fault = lock(&shared.faults).take(parts.method.as_str(), &path);
    match fault {
        None => {}
        Some(FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(FaultAction::Drop) => {
            conn.sever();
            // Never delivered: the socket is shut down, so hyper's write fails and it
            // closes the connection.
            return app_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Connection dropped",
                "INJECTED_FAULT",
            )
            .into_response();
        }
        Some(FaultAction::MalformedBody) => {
            return Reply {
                status: StatusCode::OK,
                body: TRUNCATED_BODY.to_owned(),
                rate: None,
                retry_after: None,
            }
            .into_response();
        }
        Some(FaultAction::Status {
            status,
            body,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut reply = match body {
                Some(body) => Reply {
                    status,
                    body,
                    rate: None,
                    retry_after: None,
                },
                None => app_error(
                    status,
                    status.canonical_reason().unwrap_or("Error"),
                    "INJECTED_FAULT",
                ),
            };
            reply.retry_after = retry_after;
            return reply.into_response();
        }
    }

    api_request(
        &shared,
        &conn,
        &parts.method,
        &path,
        &path_and_query,
        &parts.headers,
        body,
    )
    .await
    .into_response()
}

async fn api_request(
    shared: &Shared,
    conn: &ConnInfo,
    method: &Method,
    path: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    body: Body,
) -> Reply {
    let now = shared.clock.now();
    let route = Route::matching(method, path);

    // Before authentication: the per-IP limiter.
    let ip = conn.peer.ip().to_string();
    let ip_decision = lock(&shared.limiter).check(Scope::Ip, &ip, now);
    if let Some(d) = ip_decision.filter(|d| !d.allowed) {
        return too_many_for_window(d);
    }

    let Some(route) = route else {
        // Unknown route: still counted against an authenticated caller's plan.
        let reply = route_not_found(method, path_and_query).rate(ip_decision);
        return match authenticate(shared, headers, now) {
            Auth::Account(key) => match plan_check(shared, &key, now) {
                Err(reply) => reply,
                Ok(plan) => reply.rate(plan),
            },
            _ => reply,
        };
    };

    let json = match read_body(method, headers, body).await {
        Ok(json) => json,
        Err(reply) => return reply.rate(ip_decision),
    };

    let key = match authenticate(shared, headers, now) {
        Auth::Account(key) => key,
        other => return unauthorized(&other).rate(ip_decision),
    };

    if let Some(name) = route.limited_as() {
        let decision = lock(&shared.limiter).check(Scope::Route(name), &key, now);
        if let Some(d) = decision.filter(|d| !d.allowed) {
            return too_many_for_window(d);
        }
    }
    let plan = match plan_check(shared, &key, now) {
        Ok(plan) => plan.or(ip_decision),
        Err(reply) => return reply,
    };

    let reply = match route {
        Route::Detect => detect(shared, &key, now),
        Route::List => list(shared, &key, path_and_query),
        Route::Acknowledge(id) => acknowledge(shared, &key, &id, now),
        Route::AuditLog => audit_log(shared, &key, json, now),
    };
    reply.rate(plan)
}

/// 429 from a per-IP or per-route limiter (the hosted framework's rate limiter):
/// `retry-after` is the window length.
fn too_many_for_window(d: Decision) -> Reply {
    let window_secs = d.window.as_secs().max(1);
    let mut reply = app_error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Rate limit exceeded, retry in {}", humanize(d.window)),
        "BAD_REQUEST",
    );
    reply.rate = Some(Decision {
        reset_secs: window_secs,
        ..d
    });
    reply.retry_after = Some(window_secs);
    reply
}

/// Counts the request against the account's plan limit.
fn plan_check(shared: &Shared, key: &str, now: Timestamp) -> Result<Option<Decision>, Reply> {
    let decision = lock(&shared.limiter).check(Scope::Plan, key, now);
    match decision {
        Some(d) if !d.allowed => {
            let mut reply = app_error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Plan rate limit exceeded, retry in {} seconds",
                    d.reset_secs
                ),
                "RATE_LIMIT_EXCEEDED",
            );
            reply.rate = Some(d);
            reply.retry_after = Some(d.reset_secs);
            Err(reply)
        }
        other => Ok(other),
    }
}

// ---------------------------------------------------------------------------
// API handlers

fn detect(shared: &Shared, key: &str, now: Timestamp) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DetectResponse<'a> {
        detected_at: Timestamp,
        total: usize,
        auto_revoked_grants: usize,
        anomalies: Vec<AnomalyJson<'a, &'a Metadata>>,
    }
    let fresh = lock(&shared.store).detect(key, now);
    Reply::json(
        StatusCode::OK,
        &DetectResponse {
            detected_at: now,
            total: fresh.len(),
            // Grant revocation is not modelled.
            auto_revoked_grants: 0,
            anomalies: fresh.iter().map(with_metadata_object).collect(),
        },
    )
}

/// Whether the query asks for unacknowledged anomalies only: exactly one
/// `unacknowledged` parameter whose value is exactly `true`.
fn wants_unacknowledged(path_and_query: &str) -> bool {
    let Some((_, query)) = path_and_query.split_once('?') else {
        return false;
    };
    let values: Vec<String> = query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k) == "unacknowledged").then(|| decode(v))
        })
        .collect();
    values == ["true"]
}

fn list(shared: &Shared, key: &str, path_and_query: &str) -> Reply {
    #[derive(Serialize)]
    struct ListResponse<'a> {
        anomalies: Vec<AnomalyJson<'a, String>>,
        total: usize,
    }
    let unacknowledged_only = wants_unacknowledged(path_and_query);
    let store = lock(&shared.store);
    let anomalies: Vec<AnomalyJson<'_, String>> = store
        .existing(key)
        .map(|account| account.anomalies_newest_first(unacknowledged_only))
        .unwrap_or_default()
        .into_iter()
        .map(with_metadata_string)
        .collect();
    Reply::json(
        StatusCode::OK,
        &ListResponse {
            total: anomalies.len(),
            anomalies,
        },
    )
}

fn acknowledge(shared: &Shared, key: &str, id: &str, now: Timestamp) -> Reply {
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    match account.anomalies.iter_mut().find(|a| a.id == id) {
        Some(anomaly) => {
            anomaly.acknowledged_at = Some(now);
            Reply::json(StatusCode::OK, &with_metadata_string(anomaly))
        }
        None => app_error(StatusCode::NOT_FOUND, "Anomaly not found", "NOT_FOUND"),
    }
}

/// `POST /v1/audit/log`, validated like the hosted route, plus an optional
/// `timestamp` (RFC 3339 or `now-5m`-style) for seeding the past.
fn audit_log(shared: &Shared, key: &str, json: JsonBody, now: Timestamp) -> Reply {
    let bad = |message: &str| app_error(StatusCode::BAD_REQUEST, message, "BAD_REQUEST");
    let body = match json {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let text = |name: &str| match body.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let (Some(agent_id), Some(agent_did), Some(grant_id), Some(principal_id), Some(action)) = (
        text("agentId"),
        text("agentDid"),
        text("grantId"),
        text("principalId"),
        text("action"),
    ) else {
        return bad("agentId, agentDid, grantId, principalId, and action are required");
    };
    let status = match body.get("status") {
        None => AuditStatus::Success,
        Some(Value::String(s)) => match AuditStatus::parse(s) {
            Some(status) => status,
            None => return bad("status must be success, failure, or blocked"),
        },
        Some(_) => return bad("status must be success, failure, or blocked"),
    };
    let metadata = match body.get("metadata") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return bad("metadata must be an object"),
    };
    let timestamp = match body.get("timestamp") {
        None | Some(Value::Null) => now,
        Some(Value::String(s)) => match fixture::parse_time(s, now) {
            Ok(t) => t,
            Err(_) => return bad("timestamp must be an RFC 3339 date-time"),
        },
        Some(_) => return bad("timestamp must be an RFC 3339 date-time"),
    };
    let entry = AuditEntry {
        agent_id,
        agent_did,
        grant_id,
        principal_id,
        action,
        metadata,
        status,
        timestamp: Some(timestamp),
    };
    let stored = StoredAudit::new(entry, now);
    let reply = Reply::json(StatusCode::CREATED, &audit_json(&stored));
    lock(&shared.store).account(key, now).audit.push(stored);
    reply
}

fn audit_json(a: &StoredAudit) -> impl Serialize + '_ {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct AuditJson<'a> {
        id: &'a str,
        entry_id: &'a str,
        agent_id: &'a str,
        agent_did: &'a str,
        grant_id: &'a str,
        principal_id: &'a str,
        action: &'a str,
        metadata: &'a Map<String, Value>,
        timestamp: Timestamp,
        status: &'static str,
    }
    AuditJson {
        id: &a.id,
        entry_id: &a.id,
        agent_id: &a.agent_id,
        agent_did: &a.agent_did,
        grant_id: &a.grant_id,
        principal_id: &a.principal_id,
        action: &a.action,
        metadata: &a.metadata,
        timestamp: a.timestamp,
        status: a.status.as_str(),
    }
}

// ---------------------------------------------------------------------------
// Test-only routes: never faulted or rate limited.

fn test_route(
    shared: &Shared,
    method: &Method,
    path: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    json: JsonBody,
) -> Reply {
    let now = shared.clock.now();
    let bad = |message: &str| app_error(StatusCode::BAD_REQUEST, message, "BAD_REQUEST");
    let body = json.unwrap_or(Value::Null);
    match (method.as_str(), path) {
        ("POST", "/v1/test/faults") => {
            let spec = match serde_json::from_value::<FaultSpec>(body) {
                Ok(spec) => spec,
                Err(e) => return bad(&format!("invalid fault: {e}")),
            };
            match spec.into_fault() {
                Ok(fault) => {
                    let mut faults = lock(&shared.faults);
                    faults.push(fault);
                    Reply::json(StatusCode::CREATED, &json!({ "pending": faults.pending() }))
                }
                Err(e) => bad(&format!("invalid fault: {e}")),
            }
        }
        ("GET", "/v1/test/faults") => Reply::json(
            StatusCode::OK,
            &json!({ "pending": lock(&shared.faults).pending() }),
        ),
        ("DELETE", "/v1/test/faults") => {
            lock(&shared.faults).clear();
            Reply::json(StatusCode::OK, &json!({ "pending": 0 }))
        }
        ("GET", "/v1/test/clock") => clock_reply(&shared.clock),
        ("POST", "/v1/test/clock") => {
            let Value::Object(body) = body else {
                return bad(
                    "expected {\"set\": <RFC 3339>} or {\"advanceMs\": <n>} or {\"reset\": true}",
                );
            };
            if body.get("reset") == Some(&Value::Bool(true)) {
                shared.clock.reset();
            }
            match body.get("set") {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => match Timestamp::parse_rfc3339(s) {
                    Ok(t) => shared.clock.set(t),
                    Err(e) => return bad(&e.to_string()),
                },
                Some(_) => return bad("set must be an RFC 3339 date-time"),
            }
            match body.get("advanceMs") {
                None | Some(Value::Null) => {}
                Some(v) => match v.as_i64() {
                    Some(ms) => shared.clock.shift_millis(ms),
                    None => return bad("advanceMs must be an integer"),
                },
            }
            clock_reply(&shared.clock)
        }
        ("POST", "/v1/test/keys") => match body.get("apiKey").and_then(Value::as_str) {
            Some(key) if !key.trim().is_empty() => {
                lock(&shared.store).add_key(key.trim().to_owned());
                Reply::json(StatusCode::CREATED, &json!({ "apiKey": key.trim() }))
            }
            _ => bad("apiKey is required"),
        },
        ("POST", "/v1/test/grants" | "/v1/test/fixture" | "/v1/test/demo") => {
            let key = match authenticate(shared, headers, now) {
                Auth::Account(key) => key,
                other => return unauthorized(&other),
            };
            match path {
                "/v1/test/grants" => test_grant(shared, &key, &body, now),
                "/v1/test/fixture" => match fixture::load(&shared.store, &key, &body, now) {
                    Ok(loaded) => Reply::json(
                        StatusCode::CREATED,
                        &json!({ "auditEntries": loaded.audit_entries, "grants": loaded.grants }),
                    ),
                    Err(e) => bad(&e.to_string()),
                },
                _ => {
                    lock(&shared.store).seed_demo(&key, now);
                    Reply::json(StatusCode::OK, &json!({ "seeded": true }))
                }
            }
        }
        _ => route_not_found(method, path_and_query),
    }
}

fn clock_reply(clock: &Clock) -> Reply {
    Reply::json(
        StatusCode::OK,
        &json!({ "now": clock.now(), "frozen": clock.is_frozen() }),
    )
}

fn test_grant(shared: &Shared, key: &str, body: &Value, now: Timestamp) -> Reply {
    let bad = |message: &str| app_error(StatusCode::BAD_REQUEST, message, "BAD_REQUEST");
    let text = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (Some(agent_id), Some(principal_id)) = (text("agentId"), text("principalId")) else {
        return bad("agentId and principalId are required");
    };
    let issued_at = match body.get("issuedAt") {
        None | Some(Value::Null) => now,
        Some(Value::String(s)) => match fixture::parse_time(s, now) {
            Ok(t) => t,
            Err(e) => return bad(&e),
        },
        Some(_) => return bad("issuedAt must be an RFC 3339 date-time"),
    };
    let grant = StoredGrant::new(Grant::new(agent_id, principal_id).issued_at(issued_at), now);
    let reply = Reply::json(
        StatusCode::CREATED,
        &json!({
            "id": grant.id,
            "agentId": grant.agent_id,
            "principalId": grant.principal_id,
            "issuedAt": grant.issued_at,
        }),
    );
    lock(&shared.store).account(key, now).grants.push(grant);
    reply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unacknowledged_query() {
        assert!(wants_unacknowledged("/v1/anomalies?unacknowledged=true"));
        assert!(wants_unacknowledged(
            "/v1/anomalies?x=1&unacknowledged=true"
        ));
        assert!(!wants_unacknowledged("/v1/anomalies?unacknowledged=1"));
        assert!(!wants_unacknowledged("/v1/anomalies?unacknowledged=True"));
        assert!(!wants_unacknowledged(
            "/v1/anomalies?unacknowledged=true&unacknowledged=true"
        ));
        assert!(!wants_unacknowledged("/v1/anomalies"));
    }

    #[test]
    fn routes() {
        assert!(matches!(
            Route::matching(&Method::POST, "/v1/anomalies/detect"),
            Some(Route::Detect)
        ));
        assert!(matches!(
            Route::matching(&Method::PATCH, "/v1/anomalies/anm_1/acknowledge"),
            Some(Route::Acknowledge(id)) if id == "anm_1"
        ));
        assert!(Route::matching(&Method::PATCH, "/v1/anomalies//acknowledge").is_none());
        assert!(Route::matching(&Method::POST, "/v1/anomalies/anm_1/acknowledge").is_none());
        assert!(Route::matching(&Method::GET, "/v1/anomalies/").is_none());
    }
}
