//! `GET`/`PATCH /v1/irregularities/response-policy`: the account's irregularity
//! response mode (a newer hosted server than the captured one; the official SDK
//! grantex 0.7.2 calls it).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::body::JsonBody;
use super::custom_rules::fields;
use super::reply::{bad_request, Reply};
use crate::clock::Timestamp;
use crate::records::ResponseMode;
use crate::shared::Shared;
use crate::sync::lock;

fn mode_reply(mode: ResponseMode) -> Reply {
    Reply::json(StatusCode::OK, &json!({ "mode": mode.as_str() }))
}

/// `GET`: `{"mode"}`, `revoke_agent_grants` until changed.
pub(super) fn get(shared: &Shared, key: &str, now: Timestamp) -> Reply {
    mode_reply(lock(&shared.store).account(key, now).response_mode)
}

/// `PATCH` with `{"mode": "alert_only" | "revoke_agent_grants"}`: `{"mode"}`, or 400.
pub(super) fn set(shared: &Shared, key: &str, json: JsonBody, now: Timestamp) -> Reply {
    let mode = match fields(json).get("mode") {
        Some(Value::String(s)) => ResponseMode::parse(s),
        _ => None,
    };
    let Some(mode) = mode else {
        // The hosted wording is not captured; this is the official SDKs' own check.
        return bad_request("mode must be alert_only or revoke_agent_grants");
    };
    lock(&shared.store).account(key, now).response_mode = mode;
    mode_reply(mode)
}
