//! The notification channel routes (`/v1/anomaly/channels...`): stored only, nothing
//! is ever delivered (as on the hosted server).

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::body::JsonBody;
use super::custom_rules::{fields, string_array};
use super::js;
use super::reply::{bad_request, not_found, payload_too_large, Reply};
use crate::clock::Timestamp;
use crate::ids;
use crate::records::{ChannelRecord, StoredSize};
use crate::shared::Shared;
use crate::sync::lock;

const TYPES: [&str; 3] = ["slack", "webhook", "email"];

/// `GET /v1/anomaly/channels`: `{"channels": [...]}`, newest first, each `config`
/// whole (secrets included) as a JSON string.
pub(super) fn list(shared: &Shared, key: &str) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct StoredChannelJson<'a> {
        id: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        name: &'a str,
        config: String,
        severities: &'a [String],
        enabled: bool,
        created_at: Timestamp,
    }
    #[derive(Serialize)]
    struct ChannelList<'a> {
        channels: Vec<StoredChannelJson<'a>>,
    }
    let store = lock(&shared.store);
    let channels = store
        .existing(key)
        .map(|account| account.channels_newest_first())
        .unwrap_or_default()
        .into_iter()
        .map(|c| StoredChannelJson {
            id: &c.id,
            kind: &c.kind,
            name: &c.name,
            config: c.config.to_string(),
            severities: &c.severities,
            enabled: c.enabled,
            created_at: c.created_at,
        })
        .collect();
    Reply::json(StatusCode::OK, &ChannelList { channels })
}

/// `POST /v1/anomaly/channels`: checks, in the hosted order, `type`, `name`, `config`;
/// `severities` defaults to `["critical", "high"]` (its values are not checked); 201
/// the channel with `config` as an object.
pub(super) fn create(shared: &Shared, key: &str, json: JsonBody, now: Timestamp) -> Reply {
    let body = fields(json);
    let kind = match body.get("type") {
        Some(Value::String(t)) if TYPES.contains(&t.as_str()) => t.clone(),
        _ => return bad_request("type is required and must be one of: slack, webhook, email"),
    };
    let name = match body.get("name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        _ => return bad_request("name is required"),
    };
    let config = match body.get("config") {
        Some(c) if js::truthy(Some(c)) && js::is_object_like(c) => js::normalized(c.clone()),
        _ => return bad_request("config is required and must be an object"),
    };
    let severities = match string_array(&body, "severities", &["critical", "high"]) {
        Ok(severities) => severities,
        Err(message) => return bad_request(&message),
    };

    #[derive(Serialize)]
    struct CreatedChannelJson<'a> {
        id: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        name: &'a str,
        config: &'a Value,
        severities: &'a [String],
        enabled: bool,
    }
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    let channel = ChannelRecord {
        seq: account.next_seq(),
        id: ids::ulid("achan_", now),
        kind,
        name,
        config,
        severities,
        enabled: true,
        created_at: now,
    };
    if let Err(full) = account.room_for_channel(channel.stored_size()) {
        return payload_too_large(&full.0);
    }
    let reply = Reply::json(
        StatusCode::CREATED,
        &CreatedChannelJson {
            id: &channel.id,
            kind: &channel.kind,
            name: &channel.name,
            config: &channel.config,
            severities: &channel.severities,
            enabled: channel.enabled,
        },
    );
    account.channels.push(channel);
    reply
}

/// `DELETE /v1/anomaly/channels/{id}`: 204, or 404 "Channel not found".
pub(super) fn delete(shared: &Shared, key: &str, id: &str, now: Timestamp) -> Reply {
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    let before = account.channels.len();
    account.channels.retain(|c| c.id != id);
    if account.channels.len() == before {
        not_found("Channel not found")
    } else {
        Reply::no_content()
    }
}
