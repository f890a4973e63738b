//! The response types: what the documentation promises, decoded once from what the server
//! really sends. progenitor's client (see `build.rs`) decodes the responses straight into
//! these types, and the Python bindings build their objects from the same values.
//!
//! Every quirk of the server is absorbed here, in the types' `Deserialize`: `metadata` as a
//! JSON string ([`JsonObject`]; likewise a rule's `condition` and a channel's `config`), unknown fields (ignored), open sets of `type` and `severity`
//! (plain strings, kept as sent). They serialize back in the wire's camelCase.

use std::{fmt, ops::Deref, sync::OnceLock};

use serde::{
    de::{self, Visitor},
    Deserialize, Deserializer, Serialize, Serializer,
};
use serde_json::{value::RawValue, Map, Value};

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
    /// (see [`JsonObject`]).
    #[serde(default)]
    pub metadata: Metadata,
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
    /// How the account responds to what detect finds: `revoke_agent_grants` (the default,
    /// also when an older server does not say) or `alert_only`.
    #[serde(default = "default_response_mode")]
    pub response_mode: String,
    /// Active grants revoked by this run (agents with high or critical anomalies, under
    /// `revoke_agent_grants`); 0 when the server does not say.
    #[serde(default)]
    pub auto_revoked_grants: i64,
}

fn default_response_mode() -> String {
    "revoke_agent_grants".to_owned()
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

/// An alert: a stored anomaly seen with its lifecycle (`open` → `acknowledged` →
/// `resolved`). `alert_id` is the anomaly's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// The alert's id (the anomaly's id, `anm_...`).
    pub alert_id: String,
    /// The custom rule that raised it; `None` for detected anomalies.
    #[serde(default)]
    pub rule_id: Option<String>,
    /// The rule's name; for detected anomalies, their type (`rate_spike`, ...).
    pub rule_name: String,
    /// `low`, `medium`, `high`, `critical`, or another level the server sends.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved` (kept as sent).
    pub status: String,
    /// The agent involved, if any.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// ISO 8601 timestamp of detection, as sent.
    pub detected_at: String,
    /// Human-readable description.
    #[serde(default)]
    pub description: String,
    /// Context of the alert (`{}` for detected anomalies), whichever form it came in.
    #[serde(default)]
    pub context: JsonObject,
    /// When it was acknowledged (through the alert routes), if it was.
    #[serde(default)]
    pub acknowledged_at: Option<String>,
    /// When it was resolved, if it was.
    #[serde(default)]
    pub resolved_at: Option<String>,
}

/// Filters of [`crate::Anomalies::list_alerts`]; `None` sends nothing for that filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListAlertsParams {
    /// `open`, `acknowledged` or `resolved` (the server refuses anything else with 400).
    pub status: Option<String>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this agent's alerts.
    pub agent_id: Option<String>,
    /// At most this many, 1 to 1,000 (the server's default: 100).
    pub limit: Option<i64>,
}

/// Counts of the alerts detected within a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyMetrics {
    /// `1h`, `6h` or `24h`.
    pub window: String,
    /// Alerts detected within the window.
    pub total: i64,
    /// Counts by status (`open`, `acknowledged`, `resolved`), in the server's order.
    #[serde(default)]
    pub by_status: Map<String, Value>,
    /// Counts by severity (`critical`, `high`, `medium`, `low`), in the server's order.
    #[serde(default)]
    pub by_severity: Map<String, Value>,
}

/// Options of [`crate::Anomalies::metrics`]; `None` sends nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsParams {
    /// `1h`, `6h` or `24h` (the server's default); anything else is a 400.
    pub window: Option<String>,
    /// Only this agent's alerts.
    pub agent_id: Option<String>,
}

/// A detection rule: one of the 10 built-in rules (`AD-001` ... `AD-010`, no stored id) or a
/// custom rule of the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyRule {
    /// The rule's own id: `AD-001` ... for built-in rules, the creator's id for custom ones.
    pub rule_id: String,
    /// Human-readable name.
    pub name: String,
    /// `low`, `medium`, `high` or `critical`.
    #[serde(default)]
    pub severity: String,
    /// What the rule detects.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether the rule is on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Built-in rules cannot be changed or deleted.
    #[serde(default)]
    pub built_in: bool,
    /// The stored id (`arule_...`) of a custom rule; `None` for built-in rules.
    #[serde(default)]
    pub id: Option<String>,
    /// A custom rule's condition (an object, also when the server sent it as a string).
    #[serde(default)]
    pub condition: Option<JsonObject>,
    /// Names of the channels a custom rule alerts.
    #[serde(default)]
    pub alert_channels: Vec<String>,
    /// When a custom rule was created.
    #[serde(default)]
    pub created_at: Option<String>,
}

fn yes() -> bool {
    true
}

/// A custom rule to create ([`crate::Anomalies::create_rule`]); sent as the wire's
/// `ruleId`, `name`, `description`, `condition`, `severity`, `alertChannels`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAnomalyRule {
    /// The rule's id (required).
    pub rule_id: String,
    /// Its name (required).
    pub name: String,
    /// What it detects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The condition, an object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Map<String, Value>>,
    /// `low`, `medium`, `high` or `critical`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Names of the channels to alert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alert_channels: Vec<String>,
}

/// A notification channel. Its `config` holds secrets (webhook URLs, tokens): `Debug`
/// leaves it out.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertChannel {
    /// The channel's id.
    pub id: String,
    /// `slack`, `webhook` or `email`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Its name.
    pub name: String,
    /// Where and how to deliver (an object, also when the server sent it as a string).
    #[serde(default)]
    pub config: JsonObject,
    /// The severities it receives.
    #[serde(default)]
    pub severities: Vec<String>,
    /// Whether it is on.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<String>,
}

impl fmt::Debug for AlertChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlertChannel")
            .field("id", &self.id)
            .field("type_", &self.type_)
            .field("name", &self.name)
            .field("config", &"[redacted]")
            .field("severities", &self.severities)
            .field("enabled", &self.enabled)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A channel to create ([`crate::Anomalies::create_channel`]).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAlertChannel {
    /// `slack`, `webhook` or `email` (the server refuses anything else with 400).
    #[serde(rename = "type")]
    pub type_: String,
    /// Its name.
    pub name: String,
    /// Where and how to deliver.
    #[serde(default)]
    pub config: Map<String, Value>,
    /// The severities it receives (the server's default: `critical` and `high`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severities: Option<Vec<String>>,
}

impl fmt::Debug for NewAlertChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAlertChannel")
            .field("type_", &self.type_)
            .field("name", &self.name)
            .field("config", &"[redacted]")
            .field("severities", &self.severities)
            .finish()
    }
}

/// What detect does about what it finds (`GET`/`PATCH /v1/irregularities/response-policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseMode {
    /// Alerts only.
    AlertOnly,
    /// Revoke the active grants of agents with high or critical anomalies (the default).
    RevokeAgentGrants,
}

impl ResponseMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::AlertOnly => "alert_only",
            ResponseMode::RevokeAgentGrants => "revoke_agent_grants",
        }
    }
}

impl std::str::FromStr for ResponseMode {
    type Err = crate::Error;

    fn from_str(mode: &str) -> Result<Self, crate::Error> {
        match mode {
            "alert_only" => Ok(ResponseMode::AlertOnly),
            "revoke_agent_grants" => Ok(ResponseMode::RevokeAgentGrants),
            // The documented SDK's message.
            _ => Err(crate::Error::InvalidArgument(
                "mode must be alert_only or revoke_agent_grants".into(),
            )),
        }
    }
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

/// A JSON object that the server sends either as an object or as a JSON string holding it:
/// an anomaly's `metadata`, a rule's `condition`, a channel's `config`, an alert's
/// `context`. Users get the object, whichever form it came in.
///
/// Detect responses send `metadata` as an object; list and acknowledge responses send a
/// string holding that object, which is unwrapped (likewise `condition` and `config` in
/// the rule and channel lists). An absent or `null` value is an empty object. Anything
/// else (a string that is not a JSON object, a number) is kept exactly as sent: losing data
/// would be worse than an unexpected shape, and it is never an error.
///
/// It keeps the JSON text and parses it on first use: [`JsonObject::json`] is that text, and
/// the parsed [`Value`] is reached through `Deref` (`metadata["count"]`,
/// `metadata.as_object()`, `metadata.get("window")`). Keys keep the server's order.
/// Serializing with `serde_json` writes the value itself (the text is serde_json's
/// [`RawValue`]).
#[derive(Clone)]
pub struct JsonObject {
    json: Box<RawValue>,
    value: OnceLock<Value>,
}

/// An anomaly's `metadata` (see [`JsonObject`]).
pub type Metadata = JsonObject;

impl JsonObject {
    /// The metadata as JSON text (an object, unless the server sent something else).
    pub fn json(&self) -> &str {
        self.json.get()
    }

    /// The metadata as a JSON value, parsed on first use.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| parse_valid(self.json.get()))
    }

    /// Takes the parsed value out.
    pub fn into_value(self) -> Value {
        let JsonObject { json, value } = self;
        value
            .into_inner()
            .unwrap_or_else(|| parse_valid(json.get()))
    }

    fn from_raw(json: Box<RawValue>) -> Self {
        JsonObject {
            json,
            value: OnceLock::new(),
        }
    }

    /// A string holding the object (the form of list responses): the object it holds, else
    /// the string itself.
    fn from_text(text: &str) -> JsonObject {
        if text.trim_start().starts_with('{') {
            if let Ok(object) = RawValue::from_string(text.to_owned()) {
                return JsonObject::from_raw(object);
            }
        }
        JsonObject::from(Value::String(text.to_owned()))
    }
}

/// Parses text that was validated when it was decoded.
fn parse_valid(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

impl Default for JsonObject {
    /// An empty object.
    fn default() -> Self {
        JsonObject::from(Value::Object(Map::new()))
    }
}

impl Deref for JsonObject {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl From<Value> for JsonObject {
    fn from(value: Value) -> Self {
        let json = serde_json::value::to_raw_value(&value).expect("a Value always serializes");
        JsonObject {
            json,
            value: OnceLock::from(value),
        }
    }
}

impl From<Map<String, Value>> for JsonObject {
    fn from(object: Map<String, Value>) -> Self {
        JsonObject::from(Value::Object(object))
    }
}

impl PartialEq for JsonObject {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl PartialEq<Value> for JsonObject {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl fmt::Debug for JsonObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

impl fmt::Display for JsonObject {
    /// The JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl Serialize for JsonObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// The normalization, in one place: whatever the server sent in the field becomes what
/// users get. Absent (see `#[serde(default)]` on the field) or `null`: an empty object; a
/// string: `JsonObject::from_text`; anything else, as sent.
impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonObjectVisitor)
    }
}

struct JsonObjectVisitor;

impl<'de> Visitor<'de> for JsonObjectVisitor {
    type Value = JsonObject;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<JsonObject, E> {
        Ok(JsonObject::from_text(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonObject, E> {
        Ok(JsonObject::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<JsonObject, E> {
        Ok(JsonObject::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<JsonObject, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<JsonObject, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(JsonObject::from)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<JsonObject, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(JsonObject::from)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonObject, E> {
        Ok(JsonObject::from(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonObject, E> {
        Ok(JsonObject::from(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonObject, E> {
        Ok(JsonObject::from(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonObject, E> {
        Ok(JsonObject::from(Value::from(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `metadata` as decoded from a field holding `raw` (JSON text; `None`: absent).
    fn metadata(raw: Option<&str>) -> JsonObject {
        let body = match raw {
            Some(raw) => format!("{{\"metadata\": {raw}}}"),
            None => "{}".to_owned(),
        };
        #[derive(Deserialize)]
        struct Holder {
            #[serde(default)]
            metadata: JsonObject,
        }
        serde_json::from_str::<Holder>(&body).unwrap().metadata
    }

    #[test]
    fn metadata_string_holding_an_object_is_unwrapped() {
        let m = metadata(Some(r#""{\"count\":55,\"a\":[1]}""#));
        assert_eq!(m, json!({"count": 55, "a": [1]}));
        assert_eq!(m.json(), r#"{"count":55,"a":[1]}"#);
        assert_eq!(m["count"], json!(55));
        let object = metadata(Some(r#"{"b": 1, "a": 2}"#));
        let keys: Vec<_> = object.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["b", "a"], "the server's key order");
    }

    #[test]
    fn metadata_that_is_not_an_object_is_kept_as_sent() {
        assert_eq!(metadata(Some(r#""not json""#)), json!("not json"));
        assert_eq!(metadata(Some(r#""{not json""#)), json!("{not json"));
        assert_eq!(metadata(Some(r#""[1,2]""#)), json!("[1,2]"));
        assert_eq!(metadata(Some("7")), json!(7));
        assert_eq!(metadata(None), json!({}));
        assert_eq!(metadata(Some("null")), json!({}));
        assert_eq!(metadata(None).json(), "{}");
    }

    #[test]
    fn serialized_anomaly_reads_back_equal() {
        let wire = json!({
            "id": "anm_1", "type": "rate_spike", "severity": "high", "agentId": "ag",
            "principalId": null, "description": "d", "metadata": "{\"a\":1}",
            "detectedAt": "2026-11-25T06:07:19.432Z", "acknowledgedAt": null, "extra": true
        });
        let a: Anomaly = serde_json::from_str(&wire.to_string()).unwrap();
        assert_eq!(a.metadata, json!({"a": 1}));
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.contains(r#""metadata":{"a":1}"#), "{text}");
        let back: Anomaly = serde_json::from_str(&text).unwrap();
        assert_eq!(a, back);
        let from_value: Anomaly = serde_json::from_value(wire).unwrap();
        assert_eq!(a, from_value);
    }
}
