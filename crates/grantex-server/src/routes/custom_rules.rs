//! The rule routes (`/v1/anomaly/rules...`): the ten built-in rules, which cannot be
//! changed, and the account's custom rules, which are stored only (nothing evaluates
//! them, as on the hosted server).

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::JsonBody;
use super::js;
use super::reply::{bad_request, not_found, payload_too_large, Reply};
use crate::clock::Timestamp;
use crate::ids;
use crate::records::{RuleRecord, StoredSize};
use crate::shared::Shared;
use crate::sync::lock;

/// The built-in rules: (ruleId, name, severity, description), word for word.
const BUILT_IN: [(&str, &str, &str, &str); 10] = [
    (
        "AD-001",
        "Velocity spike",
        "high",
        "> 10x normal grant issuance rate in 5 min",
    ),
    (
        "AD-002",
        "Scope escalation attempt",
        "critical",
        "Agent requests scopes beyond registered max",
    ),
    (
        "AD-003",
        "Unusual geography",
        "medium",
        "Grant token verified from unexpected country",
    ),
    (
        "AD-004",
        "Off-hours activity",
        "low",
        "Agent active outside configured normal hours",
    ),
    (
        "AD-005",
        "Delegation depth spike",
        "high",
        "Suddenly higher A2A delegation depth detected",
    ),
    (
        "AD-006",
        "Rapid revocation",
        "critical",
        "> 5 grants revoked in 60 seconds",
    ),
    (
        "AD-007",
        "Budget cliff",
        "high",
        "Scope budget 90%+ consumed in < 1 hour",
    ),
    (
        "AD-008",
        "Unknown agent",
        "critical",
        "Token presented from unregistered agent DID",
    ),
    (
        "AD-009",
        "Replay attempt",
        "critical",
        "Same JTI presented twice",
    ),
    (
        "AD-010",
        "Offline bundle stale",
        "medium",
        "Bundle last synced beyond configured threshold",
    ),
];

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuiltInJson {
    rule_id: &'static str,
    name: &'static str,
    severity: &'static str,
    description: &'static str,
    built_in: bool,
    enabled: bool,
}

/// A stored custom rule as the list and PATCH answer it: `condition` as a JSON
/// string.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StoredRuleJson<'a> {
    id: &'a str,
    rule_id: &'a str,
    name: &'a str,
    description: Option<&'a str>,
    condition: String,
    severity: &'a str,
    alert_channels: &'a [String],
    enabled: bool,
    built_in: bool,
    created_at: Timestamp,
}

impl<'a> From<&'a RuleRecord> for StoredRuleJson<'a> {
    fn from(r: &'a RuleRecord) -> Self {
        StoredRuleJson {
            id: &r.id,
            rule_id: &r.rule_id,
            name: &r.name,
            description: r.description.as_deref(),
            condition: r.condition.to_string(),
            severity: &r.severity,
            alert_channels: &r.alert_channels,
            enabled: r.enabled,
            built_in: false,
            created_at: r.created_at,
        }
    }
}

/// `GET /v1/anomaly/rules`: `{"rules": [built-in..., custom newest first...]}`.
pub(super) fn list(shared: &Shared, key: &str) -> Reply {
    let store = lock(&shared.store);
    let mut rules: Vec<Value> = BUILT_IN
        .iter()
        .map(|&(rule_id, name, severity, description)| {
            serde_json::to_value(BuiltInJson {
                rule_id,
                name,
                severity,
                description,
                built_in: true,
                enabled: true,
            })
            .unwrap_or_default()
        })
        .collect();
    if let Some(account) = store.existing(key) {
        rules.extend(
            account
                .rules_newest_first()
                .into_iter()
                .map(|r| serde_json::to_value(StoredRuleJson::from(r)).unwrap_or_default()),
        );
    }
    Reply::json(StatusCode::OK, &serde_json::json!({ "rules": rules }))
}

/// A string field that must be truthy: a non-empty string. (The hosted server would
/// also take another truthy value and let the database coerce or reject it; here only
/// strings pass.)
fn required_string(body: &Map<String, Value>, name: &str) -> Option<String> {
    match body.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// An optional array of strings (`?? default`); `Err` for anything else, which the
/// hosted database column (`TEXT[]`) would not take.
pub(super) fn string_array(
    body: &Map<String, Value>,
    name: &str,
    default: &[&str],
) -> Result<Vec<String>, String> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(default.iter().map(|s| (*s).to_owned()).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| format!("{name} must be an array of strings")),
        Some(_) => Err(format!("{name} must be an array of strings")),
    }
}

/// The body as an object (`request.body ?? {}`; a non-object has no fields).
pub(super) fn fields(json: JsonBody) -> Map<String, Value> {
    match json {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// `POST /v1/anomaly/rules`: checks, in the hosted order, `ruleId` and `name`, then
/// `condition`, then `severity` (default `medium`); 201 the rule with `condition` as
/// an object.
pub(super) fn create(shared: &Shared, key: &str, json: JsonBody, now: Timestamp) -> Reply {
    let body = fields(json);
    let (Some(rule_id), Some(name)) = (
        required_string(&body, "ruleId"),
        required_string(&body, "name"),
    ) else {
        return bad_request("ruleId and name are required");
    };
    let description = match body.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let condition = match body.get("condition") {
        Some(c) if js::truthy(Some(c)) && js::is_object_like(c) => js::normalized(c.clone()),
        _ => return bad_request("condition is required and must be an object"),
    };
    let severity = match body.get("severity") {
        None | Some(Value::Null) => "medium".to_owned(),
        Some(Value::String(s)) if SEVERITIES.contains(&s.as_str()) => s.clone(),
        Some(_) => {
            return bad_request("Invalid severity. Must be one of: critical, high, medium, low")
        }
    };
    let alert_channels = match string_array(&body, "alertChannels", &[]) {
        Ok(channels) => channels,
        Err(message) => return bad_request(&message),
    };

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct CreatedRuleJson<'a> {
        id: &'a str,
        rule_id: &'a str,
        name: &'a str,
        description: Option<&'a str>,
        condition: &'a Value,
        severity: &'a str,
        alert_channels: &'a [String],
        enabled: bool,
    }
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    let rule = RuleRecord {
        seq: account.next_seq(),
        id: ids::ulid("arule_", now),
        rule_id,
        name,
        description,
        condition,
        severity,
        alert_channels,
        enabled: true,
        created_at: now,
    };
    if let Err(full) = account.room_for_rule(rule.stored_size()) {
        return payload_too_large(&full.0);
    }
    let reply = Reply::json(
        StatusCode::CREATED,
        &CreatedRuleJson {
            id: &rule.id,
            rule_id: &rule.rule_id,
            name: &rule.name,
            description: rule.description.as_deref(),
            condition: &rule.condition,
            severity: &rule.severity,
            alert_channels: &rule.alert_channels,
            enabled: rule.enabled,
        },
    );
    account.rules.push(rule);
    reply
}

fn rule_not_found() -> Reply {
    not_found("Rule not found")
}

/// `PATCH /v1/anomaly/rules/{id}` with `{"enabled": bool}` (checked first), on a custom
/// rule's stored id. Built-in rules have no stored id: 404 like any unknown id.
pub(super) fn set_enabled(
    shared: &Shared,
    key: &str,
    id: &str,
    json: JsonBody,
    now: Timestamp,
) -> Reply {
    let Some(Value::Bool(enabled)) = fields(json).get("enabled").cloned() else {
        return bad_request("enabled must be a boolean");
    };
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    match account.rules.iter_mut().find(|r| r.id == id) {
        Some(rule) => {
            rule.enabled = enabled;
            Reply::json(StatusCode::OK, &StoredRuleJson::from(&*rule))
        }
        None => rule_not_found(),
    }
}

/// `DELETE /v1/anomaly/rules/{id}`: 204, or 404 for an unknown id (built-in ones
/// included).
pub(super) fn delete(shared: &Shared, key: &str, id: &str, now: Timestamp) -> Reply {
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    let before = account.rules.len();
    account.rules.retain(|r| r.id != id);
    if account.rules.len() == before {
        rule_not_found()
    } else {
        Reply::no_content()
    }
}
