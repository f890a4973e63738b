//! The test-only routes under `/v1/test/` (not on the hosted server): faults, the
//! clock, keys, and seeding an account. Never faulted or rate limited; see the crate
//! docs for the shapes.

use axum::http::{HeaderMap, Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::auth::authenticate;
use super::body::{self, Field, JsonBody};
use super::reply::{bad_request, payload_too_large, route_not_found, Reply};
use crate::clock::{Clock, Timestamp};
use crate::faults::FaultSpec;
use crate::fixture;
use crate::records::{Grant, GrantRecord};
use crate::shared::Shared;
use crate::sync::lock;

/// Answers a request whose path starts with `/v1/test`.
pub(super) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    path_and_query: &str,
    headers: &HeaderMap,
    json: JsonBody,
) -> Reply {
    let now = shared.clock.now();
    match (method.as_str(), path) {
        ("POST", "/v1/test/faults") => add_fault(shared, json),
        ("GET", "/v1/test/faults") => pending_faults(lock(&shared.faults).pending()),
        ("DELETE", "/v1/test/faults") => {
            lock(&shared.faults).clear();
            pending_faults(0)
        }
        ("GET", "/v1/test/clock") => clock_state(&shared.clock),
        ("POST", "/v1/test/clock") => change_clock(&shared.clock, json),
        ("POST", "/v1/test/keys") => add_key(shared, json),
        ("POST", "/v1/test/grants" | "/v1/test/fixture" | "/v1/test/demo") => {
            let key = match authenticate(shared, headers, now).into_account() {
                Ok(key) => key,
                Err(reply) => return reply,
            };
            match path {
                "/v1/test/grants" => add_grant(shared, &key, json, now),
                "/v1/test/fixture" => load_fixture(shared, &key, json, now),
                _ => {
                    lock(&shared.store).account(&key, now).seed_demo(now);
                    Reply::json(StatusCode::OK, &json!({ "seeded": true }))
                }
            }
        }
        _ => route_not_found(method, path_and_query),
    }
}

fn pending_faults(pending: u64) -> Reply {
    Reply::json(StatusCode::OK, &json!({ "pending": pending }))
}

/// `POST /v1/test/faults` with a [`FaultSpec`].
fn add_fault(shared: &Shared, json: JsonBody) -> Reply {
    let fault = serde_json::from_value::<FaultSpec>(json.unwrap_or(Value::Null))
        .map_err(|e| e.to_string())
        .and_then(FaultSpec::into_fault);
    match fault {
        Ok(fault) => {
            let mut faults = lock(&shared.faults);
            faults.push(fault);
            Reply::json(StatusCode::CREATED, &json!({ "pending": faults.pending() }))
        }
        Err(e) => bad_request(&format!("invalid fault: {e}")),
    }
}

fn clock_state(clock: &Clock) -> Reply {
    #[derive(Serialize)]
    struct ClockState {
        now: Timestamp,
        frozen: bool,
    }
    Reply::json(
        StatusCode::OK,
        &ClockState {
            now: clock.now(),
            frozen: clock.is_frozen(),
        },
    )
}

/// The body of `POST /v1/test/clock`; the changes apply in this order.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ClockChange {
    /// `true` unfreezes the clock and removes its offset; other values are ignored.
    reset: Field<bool>,
    /// Freeze at this RFC 3339 instant.
    set: Field<Option<String>>,
    /// Move by this many milliseconds (signed).
    advance_ms: Field<Option<i64>>,
}

/// `POST /v1/test/clock`: the change is checked whole, then applied.
fn change_clock(clock: &Clock, json: JsonBody) -> Reply {
    let Some(change) = body::object::<ClockChange>(json) else {
        return bad_request(
            "expected {\"set\": <RFC 3339>} or {\"advanceMs\": <n>} or {\"reset\": true}",
        );
    };
    let set = match change.set {
        Field::Absent | Field::Valid(None) => None,
        Field::Valid(Some(s)) => match Timestamp::parse_rfc3339(&s) {
            Ok(t) => Some(t),
            Err(e) => return bad_request(&e.to_string()),
        },
        Field::Invalid => return bad_request("set must be an RFC 3339 date-time"),
    };
    let advance_ms = match change.advance_ms {
        Field::Absent | Field::Valid(None) => None,
        Field::Valid(Some(ms)) => Some(ms),
        Field::Invalid => return bad_request("advanceMs must be an integer"),
    };
    if matches!(change.reset, Field::Valid(true)) {
        clock.reset();
    }
    if let Some(t) = set {
        clock.set(t);
    }
    if let Some(ms) = advance_ms {
        clock.shift_millis(ms);
    }
    clock_state(clock)
}

/// The body of `POST /v1/test/keys`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NewKey {
    api_key: Field<String>,
}

/// `POST /v1/test/keys`: a known key (another account).
fn add_key(shared: &Shared, json: JsonBody) -> Reply {
    let body: NewKey = body::object(json).unwrap_or_default();
    let key = match &body.api_key {
        Field::Valid(key) if !key.trim().is_empty() => key.trim(),
        _ => return bad_request("apiKey is required"),
    };
    if let Err(full) = lock(&shared.store).add_key_within_limits(key) {
        return payload_too_large(&full.0);
    }
    Reply::json(StatusCode::CREATED, &json!({ "apiKey": key }))
}

/// The body of `POST /v1/test/grants`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct NewGrant {
    agent_id: Field<String>,
    principal_id: Field<String>,
    /// RFC 3339 or `now-1h`-style; now if absent.
    issued_at: Field<Option<String>>,
}

/// `POST /v1/test/grants`: records a grant in the caller's account.
fn add_grant(shared: &Shared, key: &str, json: JsonBody, now: Timestamp) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct GrantJson<'a> {
        id: &'a str,
        agent_id: &'a str,
        principal_id: &'a str,
        issued_at: Timestamp,
    }
    let body: NewGrant = body::object(json).unwrap_or_default();
    let (Some(agent_id), Some(principal_id)) =
        (body.agent_id.non_empty(), body.principal_id.non_empty())
    else {
        return bad_request("agentId and principalId are required");
    };
    let issued_at = match body.issued_at {
        Field::Absent | Field::Valid(None) => now,
        Field::Valid(Some(s)) => match fixture::parse_time(&s, now) {
            Ok(t) => t,
            Err(e) => return bad_request(&e),
        },
        Field::Invalid => return bad_request("issuedAt must be an RFC 3339 date-time"),
    };
    let grant = GrantRecord::new(Grant::new(agent_id, principal_id).issued_at(issued_at), now);
    let reply = Reply::json(
        StatusCode::CREATED,
        &GrantJson {
            id: &grant.id,
            agent_id: &grant.agent_id,
            principal_id: &grant.principal_id,
            issued_at: grant.issued_at,
        },
    );
    // The earliest grants beyond the account's limits are dropped.
    lock(&shared.store).account(key, now).record_grant(grant);
    reply
}

/// `POST /v1/test/fixture`: loads a fixture into the caller's account.
fn load_fixture(shared: &Shared, key: &str, json: JsonBody, now: Timestamp) -> Reply {
    let fixture = json.unwrap_or(Value::Null);
    match fixture::load(&mut lock(&shared.store), key, &fixture, now) {
        Ok(loaded) => Reply::json(
            StatusCode::CREATED,
            &json!({ "auditEntries": loaded.audit_entries, "grants": loaded.grants }),
        ),
        Err(e) => bad_request(&e.to_string()),
    }
}
