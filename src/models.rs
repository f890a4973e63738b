//! The response types users see: what the documentation promises, built from what the
//! server really sends (the generated types in [`crate::generated::types`]).
//!
//! They serialize and deserialize in the wire's camelCase, so a response can be stored and
//! read back, and deserializing accepts `metadata` in either of the server's forms.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::generated::types as wire;

/// One detected anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Anomaly {
    /// Unique anomaly identifier, e.g. `anm_01M88N1MW85NN6G98M105YW80V`.
    pub id: String,
    /// The anomaly type: `rate_spike`, `high_failure_rate`, `new_principal`,
    /// `off_hours_activity`, or one the server adds later (kept as sent).
    #[serde(rename = "type")]
    pub type_: String,
    /// `low`, `medium`, `high`, or another level the server sends (it knows `critical`).
    pub severity: String,
    /// The agent involved, if any.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The principal involved, if any.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// Human-readable description.
    pub description: String,
    /// Additional data about the anomaly: a JSON object, whichever form the server sent it in
    /// (see [`normalize_metadata`]).
    #[serde(default, deserialize_with = "deserialize_metadata")]
    pub metadata: Value,
    /// ISO 8601 timestamp of detection, exactly as the server sent it.
    pub detected_at: String,
    /// ISO 8601 timestamp of acknowledgement, or `None` while unacknowledged.
    #[serde(default)]
    pub acknowledged_at: Option<String>,
}

/// The result of one detection run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectAnomaliesResponse {
    /// ISO 8601 timestamp of the run.
    pub detected_at: String,
    /// Number of anomalies detected.
    pub total: i64,
    /// The detected anomalies.
    pub anomalies: Vec<Anomaly>,
}

/// The stored anomalies, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListAnomaliesResponse {
    /// The anomalies.
    pub anomalies: Vec<Anomaly>,
    /// Total number of anomalies.
    pub total: i64,
}

/// Options of [`crate::Anomalies::list`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListAnomaliesParams {
    /// Only unacknowledged anomalies (sent as `?unacknowledged=true`; omitted when false).
    pub unacknowledged: bool,
}

/// The rate-limit headers of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests allowed in the current window (`x-ratelimit-limit`).
    pub limit: u64,
    /// Requests left in the current window (`x-ratelimit-remaining`).
    pub remaining: u64,
    /// Seconds until the window resets (`x-ratelimit-reset`).
    pub reset: u64,
    /// Seconds to wait before retrying (`retry-after`, sent with a 429); an HTTP date is
    /// converted to the seconds left until it.
    pub retry_after: Option<u64>,
}

/// Turns the server's `metadata` into what the documentation promises, a JSON object.
///
/// Detect responses send an object; list and acknowledge responses send a string holding
/// that object, which is decoded. An absent or `null` value becomes an empty object.
/// Anything else (a string that is not a JSON object, a number) is kept exactly as sent:
/// losing data would be worse than an unexpected shape, and it is never an error.
pub fn normalize_metadata(raw: Option<Value>) -> Value {
    match raw {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(object @ Value::Object(_)) => object,
            _ => Value::String(text),
        },
        Some(other) => other,
    }
}

fn deserialize_metadata<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    Option::<Value>::deserialize(deserializer).map(normalize_metadata)
}

impl From<wire::Anomaly> for Anomaly {
    fn from(a: wire::Anomaly) -> Self {
        Anomaly {
            id: a.id,
            type_: a.type_,
            severity: a.severity,
            agent_id: a.agent_id,
            principal_id: a.principal_id,
            description: a.description,
            metadata: normalize_metadata(a.metadata),
            detected_at: a.detected_at,
            acknowledged_at: a.acknowledged_at,
        }
    }
}

impl From<wire::DetectAnomaliesResponse> for DetectAnomaliesResponse {
    fn from(r: wire::DetectAnomaliesResponse) -> Self {
        DetectAnomaliesResponse {
            detected_at: r.detected_at,
            total: r.total,
            anomalies: r.anomalies.into_iter().map(Anomaly::from).collect(),
        }
    }
}

impl From<wire::ListAnomaliesResponse> for ListAnomaliesResponse {
    fn from(r: wire::ListAnomaliesResponse) -> Self {
        ListAnomaliesResponse {
            anomalies: r.anomalies.into_iter().map(Anomaly::from).collect(),
            total: r.total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_string_holding_an_object_is_decoded() {
        let m = normalize_metadata(Some(json!("{\"count\":55}")));
        assert_eq!(m, json!({"count": 55}));
    }

    #[test]
    fn metadata_that_is_not_an_object_is_kept_as_sent() {
        assert_eq!(
            normalize_metadata(Some(json!("not json"))),
            json!("not json")
        );
        assert_eq!(normalize_metadata(Some(json!("[1,2]"))), json!("[1,2]"));
        assert_eq!(normalize_metadata(Some(json!(7))), json!(7));
        assert_eq!(normalize_metadata(None), json!({}));
        assert_eq!(normalize_metadata(Some(Value::Null)), json!({}));
    }

    #[test]
    fn serialized_anomaly_reads_back_equal() {
        let a: Anomaly = serde_json::from_value(json!({
            "id": "anm_1", "type": "rate_spike", "severity": "high", "agentId": "ag",
            "principalId": null, "description": "d", "metadata": "{\"a\":1}",
            "detectedAt": "2026-11-25T06:07:19.432Z", "acknowledgedAt": null, "extra": true
        }))
        .unwrap();
        assert_eq!(a.metadata, json!({"a": 1}));
        let back: Anomaly = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(a, back);
    }
}
