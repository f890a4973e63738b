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
use serde_json::{value::RawValue as RawJson, Map, Value};

/// One detected anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
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
#[serde(remote = "Self", rename_all = "camelCase")]
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
#[serde(remote = "Self", rename_all = "camelCase")]
pub struct ListAnomaliesResponse {
    /// The anomalies.
    pub anomalies: Vec<Anomaly>,
    /// Total number of anomalies.
    pub total: i64,
}

/// An alert: a stored anomaly seen with its lifecycle (`open` → `acknowledged` →
/// `resolved`). `alert_id` is the anomaly's id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "camelCase")]
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
#[serde(remote = "Self", rename_all = "camelCase")]
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
#[serde(remote = "Self", rename_all = "camelCase")]
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
#[serde(remote = "Self", rename_all = "camelCase")]
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

/// The body of `GET /v1/anomaly/alerts`.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct AlertList {
    pub data: Vec<Alert>,
}

/// The body of `GET /v1/anomaly/rules`.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct RuleList {
    pub rules: Vec<AnomalyRule>,
}

/// The body of `GET /v1/anomaly/channels`.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ChannelList {
    pub channels: Vec<AlertChannel>,
}

/// The body of the response-policy routes (both ways).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ResponsePolicy {
    pub mode: String,
}

/// Response types decode from JSON objects only. serde's derive also takes an array for a
/// struct (its fields by position), so `[...]` would pass for an anomaly; `json.loads`
/// followed by the documented mapping refuses it, and so does this. The types derive with
/// `#[serde(remote = "Self")]`, and these impls call the derived code through
/// [`ObjectsOnly`].
macro_rules! objects_only {
    ($($ty:ident),* $(,)?) => {$(
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $ty::serialize(self, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $ty::deserialize(ObjectsOnly(deserializer))
            }
        }
    )*};
}

objects_only!(
    Anomaly,
    DetectAnomaliesResponse,
    ListAnomaliesResponse,
    Alert,
    AnomalyMetrics,
    AnomalyRule,
    AlertChannel,
    AlertList,
    RuleList,
    ChannelList,
    ResponsePolicy,
);

/// A deserializer that asks for a map where a struct is asked for.
struct ObjectsOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
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
    json: Box<str>,
    value: OnceLock<Value>,
}

/// An anomaly's `metadata` (see [`JsonObject`]).
pub type Metadata = JsonObject;

impl JsonObject {
    /// The object as JSON text, as the server sent it (unwrapped from the string form). It
    /// is what Python's `json.loads` accepts: in the rare case the server sent `NaN`,
    /// `Infinity` or a lone UTF-16 surrogate escape (`"\ud83d"`), they are kept, so it may
    /// not be strict JSON (such a body is rewritten once on its way in: the text then means
    /// the same, compacted, duplicate keys merged).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The object as a JSON value, parsed on first use. Where the text holds what a
    /// [`Value`] cannot (see [`JsonObject::json`]): `NaN`, `Infinity` and numbers beyond
    /// `f64` become `null` (as JavaScript's `JSON.stringify` writes them), a lone
    /// surrogate U+FFFD, and integers beyond 64 bits the nearest `f64`.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| parse(&self.json))
    }

    /// Takes the parsed value out.
    pub fn into_value(self) -> Value {
        let JsonObject { json, value } = self;
        value.into_inner().unwrap_or_else(|| parse(&json))
    }

    fn from_json(json: Box<str>) -> Self {
        JsonObject {
            json,
            value: OnceLock::new(),
        }
    }

    /// An object or array as JSON text built from the server's own text of its members,
    /// with what markers of a body made strict (`crate::lenient`) stand for put back.
    fn from_raw_json(text: String) -> JsonObject {
        JsonObject::from_json(
            crate::lenient::restore(&text)
                .unwrap_or(text)
                .into_boxed_str(),
        )
    }

    /// A string holding the object (the form of list responses): the object it holds, else
    /// the string itself.
    fn from_text(text: String) -> JsonObject {
        if text.trim_start().starts_with('{') {
            let restored = crate::lenient::restore(&text);
            let object = restored.as_deref().unwrap_or(&text);
            if is_json(object) {
                return JsonObject::from_json(restored.unwrap_or(text).into_boxed_str());
            }
        }
        // Kept as the string it is: its JSON text, with any lone surrogate written back as
        // the escape the server sent.
        let json = Value::String(text).to_string();
        JsonObject::from_json(
            crate::lenient::restore(&json)
                .unwrap_or(json)
                .into_boxed_str(),
        )
    }
}

/// Whether `text` is one JSON value as Python's `json.loads` reads it (strict JSON, or with
/// `NaN`, `Infinity`, lone surrogates).
fn is_json(text: &str) -> bool {
    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
        || crate::lenient::to_strict(text.as_bytes()).is_ok()
}

/// Parses text that was checked when it was decoded.
fn parse(json: &str) -> Value {
    serde_json::from_str(json)
        .or_else(|_| crate::lenient::lossy_value(json))
        .unwrap_or(Value::Null)
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
        JsonObject {
            json: value.to_string().into_boxed_str(),
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

/// serde_json's name for raw JSON text in its data model (`serde_json::raw::TOKEN`).
const RAW_JSON: &str = "$serde_json::private::RawValue";

impl Serialize for JsonObject {
    /// The JSON text itself, as serde_json writes a [`RawValue`] (the Python bindings read
    /// it the same way).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut raw = serializer.serialize_struct(RAW_JSON, 1)?;
        raw.serialize_field(RAW_JSON, &*self.json)?;
        raw.end()
    }
}

/// The normalization, in one place: whatever the server sent in the field becomes what
/// users get. Absent (see `#[serde(default)]` on the field) or `null`: an empty object; a
/// string: `JsonObject::from_text`; an object or an array: its text, assembled from the
/// server's own text of each member (serde_json's `RawValue`), so numbers keep every
/// digit and keys their order and repeats; anything else, as sent.
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
        Ok(JsonObject::from_text(text.to_owned()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<JsonObject, E> {
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

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<JsonObject, A::Error> {
        let mut text = String::from("{");
        while let Some(key) = map.next_key::<String>()? {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(&key).map_err(de::Error::custom)?);
            text.push(':');
            text.push_str(map.next_value::<Box<RawJson>>()?.get());
        }
        text.push('}');
        Ok(JsonObject::from_raw_json(text))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonObject, A::Error> {
        let mut text = String::from("[");
        while let Some(item) = seq.next_element::<Box<RawJson>>()? {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(item.get());
        }
        text.push(']');
        Ok(JsonObject::from_raw_json(text))
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
