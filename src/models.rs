//! The response types: what the documentation promises, decoded once from what the server
//! really sends. progenitor's client (see `build.rs`) decodes the responses straight into
//! these types, and the Python bindings build their objects from the same values.
//!
//! Every quirk of the server is absorbed here, in the types' `Deserialize`: `metadata` as a
//! JSON string ([`Metadata`]), unknown fields (ignored), open sets of `type` and `severity`
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
    /// (see [`Metadata`]).
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

/// An anomaly's `metadata`: what the documentation promises, a JSON object, whichever form
/// the server sent it in.
///
/// Detect responses send an object; list and acknowledge responses send a string holding
/// that object, which is unwrapped. An absent or `null` value is an empty object. Anything
/// else (a string that is not a JSON object, a number) is kept exactly as sent: losing data
/// would be worse than an unexpected shape, and it is never an error.
///
/// It keeps the JSON text and parses it on first use: [`Metadata::json`] is that text, and
/// the parsed [`Value`] is reached through `Deref` (`metadata["count"]`,
/// `metadata.as_object()`, `metadata.get("window")`). Keys keep the server's order.
/// Serializing with `serde_json` writes the value itself (the text is serde_json's
/// [`RawValue`]).
#[derive(Clone)]
pub struct Metadata {
    json: Box<RawValue>,
    value: OnceLock<Value>,
}

impl Metadata {
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
        let Metadata { json, value } = self;
        value
            .into_inner()
            .unwrap_or_else(|| parse_valid(json.get()))
    }

    fn from_raw(json: Box<RawValue>) -> Self {
        Metadata {
            json,
            value: OnceLock::new(),
        }
    }

    /// A string holding metadata (the form of list and acknowledge responses): the object
    /// it holds, else the string itself.
    fn from_text(text: &str) -> Metadata {
        if text.trim_start().starts_with('{') {
            if let Ok(object) = RawValue::from_string(text.to_owned()) {
                return Metadata::from_raw(object);
            }
        }
        Metadata::from(Value::String(text.to_owned()))
    }
}

/// Parses text that was validated when it was decoded.
fn parse_valid(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

impl Default for Metadata {
    /// An empty object.
    fn default() -> Self {
        Metadata::from(Value::Object(Map::new()))
    }
}

impl Deref for Metadata {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value()
    }
}

impl From<Value> for Metadata {
    fn from(value: Value) -> Self {
        let json = serde_json::value::to_raw_value(&value).expect("a Value always serializes");
        Metadata {
            json,
            value: OnceLock::from(value),
        }
    }
}

impl From<Map<String, Value>> for Metadata {
    fn from(object: Map<String, Value>) -> Self {
        Metadata::from(Value::Object(object))
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl PartialEq<Value> for Metadata {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

impl fmt::Display for Metadata {
    /// The JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// The normalization, in one place: whatever the server sent in the field becomes what
/// users get. Absent (see `#[serde(default)]` on the field) or `null`: an empty object; a
/// string: [`Metadata::from_text`]; anything else, as sent.
impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MetadataVisitor)
    }
}

struct MetadataVisitor;

impl<'de> Visitor<'de> for MetadataVisitor {
    type Value = Metadata;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Metadata, E> {
        Ok(Metadata::from_text(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Metadata, E> {
        Ok(Metadata::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Metadata, E> {
        Ok(Metadata::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Metadata, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Metadata, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Metadata::from)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Metadata, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Metadata::from)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Metadata, E> {
        Ok(Metadata::from(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Metadata, E> {
        Ok(Metadata::from(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Metadata, E> {
        Ok(Metadata::from(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Metadata, E> {
        Ok(Metadata::from(Value::from(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `metadata` as decoded from a field holding `raw` (JSON text; `None`: absent).
    fn metadata(raw: Option<&str>) -> Metadata {
        let body = match raw {
            Some(raw) => format!("{{\"metadata\": {raw}}}"),
            None => "{}".to_owned(),
        };
        #[derive(Deserialize)]
        struct Holder {
            #[serde(default)]
            metadata: Metadata,
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
