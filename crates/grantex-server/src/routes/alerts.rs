//! The alert routes (`/v1/anomaly/alerts...`) and the metrics route: the stored
//! anomalies seen through the alert shape, and their lifecycle `open → acknowledged →
//! resolved`.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::JsonBody;
use super::js::{self, Param};
use super::reply::{bad_request, not_found, payload_too_large, Reply};
use crate::clock::Timestamp;
use crate::records::{AlertStatus, AnomalyRecord};
use crate::shared::Shared;
use crate::sync::lock;

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

/// An anomaly in the alert shape, in the wire's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertJson<'a> {
    alert_id: &'a str,
    rule_id: Option<&'a str>,
    /// The rule's name; the anomaly's `type` for the detection rules.
    rule_name: &'a str,
    severity: &'a str,
    status: &'static str,
    agent_id: Option<&'a str>,
    detected_at: Timestamp,
    description: &'a str,
    /// Always `{}`: detected anomalies have no context (their metadata is not shown).
    context: Map<String, Value>,
    acknowledged_at: Option<Timestamp>,
    resolved_at: Option<Timestamp>,
}

impl<'a> From<&'a AnomalyRecord> for AlertJson<'a> {
    fn from(a: &'a AnomalyRecord) -> Self {
        AlertJson {
            alert_id: &a.id,
            rule_id: a.rule_id.as_deref(),
            rule_name: a.finding.kind,
            severity: a.finding.severity,
            status: a.status.as_str(),
            agent_id: a.finding.agent_id.as_deref(),
            detected_at: a.detected_at,
            description: &a.finding.description,
            context: Map::new(),
            acknowledged_at: a.acknowledged_at,
            resolved_at: a.resolved_at,
        }
    }
}

/// An equality filter from a query parameter: `None` filters nothing, `Some(None)`
/// matches nothing (a repeated parameter), `Some(Some(v))` keeps `v` only.
type Filter = Option<Option<String>>;

fn filter(param: Param) -> Filter {
    match param {
        Param::Absent => None,
        Param::One(v) => Some(Some(v)),
        Param::Many(_) => Some(None),
    }
}

fn keeps(filter: &Filter, value: Option<&str>) -> bool {
    match filter {
        None => true,
        Some(None) => false,
        Some(Some(wanted)) => value == Some(wanted.as_str()),
    }
}

/// A `status` or `severity` filter: checked against `allowed` when truthy (an empty
/// value passes the check, then matches nothing).
fn checked_filter(param: Param, allowed: &[&str], message: &str) -> Result<Filter, Reply> {
    match &param {
        Param::One(v) if !v.is_empty() && !allowed.contains(&v.as_str()) => {
            Err(bad_request(message))
        }
        Param::Many(_) => Err(bad_request(message)),
        _ => Ok(filter(param)),
    }
}

/// `GET /v1/anomaly/alerts[?status=&severity=&agentId=&limit=]`: `{"data": [...]}`,
/// newest `detectedAt` first.
pub(super) fn list(shared: &Shared, key: &str, query: Option<&str>) -> Reply {
    let status = match checked_filter(
        js::param(query, "status"),
        &["open", "acknowledged", "resolved"],
        "Invalid status. Must be one of: open, acknowledged, resolved",
    ) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let severity = match checked_filter(
        js::param(query, "severity"),
        &SEVERITIES,
        "Invalid severity. Must be one of: critical, high, medium, low",
    ) {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let agent = filter(js::param(query, "agentId"));
    let limit = js::list_limit(&js::param(query, "limit"));

    #[derive(Serialize)]
    struct AlertList<'a> {
        data: Vec<AlertJson<'a>>,
    }
    let store = lock(&shared.store);
    let data: Vec<AlertJson<'_>> = store
        .existing(key)
        .map(|account| account.anomalies_newest_first(false))
        .unwrap_or_default()
        .into_iter()
        .filter(|a| keeps(&status, Some(a.status.as_str())))
        .filter(|a| keeps(&severity, Some(a.finding.severity)))
        .filter(|a| keeps(&agent, a.finding.agent_id.as_deref()))
        .take(limit)
        .map(AlertJson::from)
        .collect();
    Reply::json(StatusCode::OK, &AlertList { data })
}

fn alert_not_found() -> Reply {
    not_found("Alert not found")
}

/// `GET /v1/anomaly/alerts/{alertId}`.
pub(super) fn get(shared: &Shared, key: &str, id: &str) -> Reply {
    let store = lock(&shared.store);
    match store
        .existing(key)
        .and_then(|account| account.anomalies.iter().find(|a| a.id == id))
    {
        Some(anomaly) => Reply::json(StatusCode::OK, &AlertJson::from(anomaly)),
        None => alert_not_found(),
    }
}

/// What the alert routes do to an alert.
#[derive(Clone, Copy)]
pub(super) enum Transition {
    Acknowledge,
    Resolve,
}

/// The `note` of an acknowledge or resolve body (`(body ?? {}).note ?? null`): a
/// string as it is, another non-null value as its JSON text.
fn note(json: JsonBody) -> Option<String> {
    match json? {
        Value::Object(mut map) => match map.remove("note")? {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        },
        _ => None,
    }
}

/// `POST /v1/anomaly/alerts/{alertId}/acknowledge` and `.../resolve` with an optional
/// `{"note"}`. Acknowledging sets `status` and `acknowledgedAt`; resolving sets
/// `status` and `resolvedAt` only. Any transition is allowed from any status, and a
/// note replaces the stored one only when given.
pub(super) fn transition(
    shared: &Shared,
    key: &str,
    id: &str,
    json: JsonBody,
    change: Transition,
    now: Timestamp,
) -> Reply {
    let note = note(json);
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    let Some(index) = account.anomalies.iter().position(|a| a.id == id) else {
        return alert_not_found();
    };
    if let Some(note) = &note {
        let old = account.anomalies[index]
            .note
            .as_ref()
            .map_or(0, String::len);
        if let Err(full) = account.room_for_note(note.len().saturating_sub(old)) {
            return payload_too_large(&full.0);
        }
    }
    let anomaly = &mut account.anomalies[index];
    match change {
        Transition::Acknowledge => {
            anomaly.status = AlertStatus::Acknowledged;
            anomaly.acknowledged_at = Some(now);
        }
        Transition::Resolve => {
            anomaly.status = AlertStatus::Resolved;
            anomaly.resolved_at = Some(now);
        }
    }
    if note.is_some() {
        anomaly.note = note;
    }
    Reply::json(StatusCode::OK, &AlertJson::from(&*anomaly))
}

/// `GET /v1/anomaly/metrics[?window=1h|6h|24h&agentId=]`: counts of the account's
/// anomalies detected within the window (default 24h), by status and severity.
pub(super) fn metrics(shared: &Shared, key: &str, query: Option<&str>, now: Timestamp) -> Reply {
    const HOUR_MS: i64 = 3_600_000;
    let (window, hours) = match js::param(query, "window") {
        Param::Absent => ("24h", 24),
        Param::One(w) if w == "1h" => ("1h", 1),
        Param::One(w) if w == "6h" => ("6h", 6),
        Param::One(w) if w == "24h" => ("24h", 24),
        _ => return bad_request("Invalid window. Must be one of: 1h, 6h, 24h"),
    };
    let agent = filter(js::param(query, "agentId"));
    let since = now.plus_millis(-hours * HOUR_MS);

    #[derive(Default, Serialize)]
    struct ByStatus {
        open: usize,
        acknowledged: usize,
        resolved: usize,
    }
    #[derive(Default, Serialize)]
    struct BySeverity {
        critical: usize,
        high: usize,
        medium: usize,
        low: usize,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Metrics {
        window: &'static str,
        total: usize,
        by_status: ByStatus,
        by_severity: BySeverity,
    }
    let mut metrics = Metrics {
        window,
        total: 0,
        by_status: ByStatus::default(),
        by_severity: BySeverity::default(),
    };
    let store = lock(&shared.store);
    let anomalies = store.existing(key).map_or(&[][..], |a| &a.anomalies[..]);
    for a in anomalies
        .iter()
        .filter(|a| a.detected_at >= since && keeps(&agent, a.finding.agent_id.as_deref()))
    {
        metrics.total += 1;
        match a.status {
            AlertStatus::Open => metrics.by_status.open += 1,
            AlertStatus::Acknowledged => metrics.by_status.acknowledged += 1,
            AlertStatus::Resolved => metrics.by_status.resolved += 1,
        }
        match a.finding.severity {
            "critical" => metrics.by_severity.critical += 1,
            "high" => metrics.by_severity.high += 1,
            "medium" => metrics.by_severity.medium += 1,
            "low" => metrics.by_severity.low += 1,
            _ => {}
        }
    }
    Reply::json(StatusCode::OK, &metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notes() {
        assert_eq!(note(None), None);
        assert_eq!(note(Some(json!({}))), None);
        assert_eq!(note(Some(json!({"note": null}))), None);
        assert_eq!(note(Some(json!({"note": "seen"}))), Some("seen".into()));
        assert_eq!(note(Some(json!({"note": 5}))), Some("5".into()));
        assert_eq!(note(Some(json!(["note"]))), None);
    }
}
