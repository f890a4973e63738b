//! Detect and list responses as the Python bindings decode them: every string of a page in
//! one buffer, each field a span of it, so a page of 1,000 anomalies costs a handful of
//! allocations instead of ten thousand `String`s (see `build.rs`, which generates a client
//! whose list-shaped responses decode into these types).
//!
//! The rules are those of [`crate::models`]: the same required fields, unknown fields
//! ignored, and `metadata` kept in whichever form the server sent it; [`super::convert`]
//! then normalises it exactly as [`crate::normalize_metadata`] does.

use std::fmt;

use serde::de::{
    self,
    value::{MapAccessDeserializer, SeqAccessDeserializer},
    DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;
use serde_json::Value;

/// A string of a page: a range of [`Page::text`].
#[derive(Debug, Clone, Copy)]
pub struct Span {
    start: usize,
    end: usize,
}

/// `metadata` as sent.
#[derive(Debug)]
pub enum Metadata {
    /// Absent or `null`.
    Absent,
    /// A string (list and acknowledge responses send the object as JSON text).
    Text(Span),
    /// Anything else: an object (detect responses), or an unexpected value.
    Other(Value),
}

/// One anomaly of a page.
#[derive(Debug)]
pub struct AnomalySpans {
    pub id: Span,
    pub type_: Span,
    pub severity: Span,
    pub agent_id: Option<Span>,
    pub principal_id: Option<Span>,
    pub description: Span,
    pub metadata: Metadata,
    pub detected_at: Span,
    pub acknowledged_at: Option<Span>,
}

/// The anomalies of a page and the buffer their strings live in.
#[derive(Debug, Default)]
pub struct Page {
    text: String,
    pub anomalies: Vec<AnomalySpans>,
    // The top-level fields as found, checked by `DetectPage` and `ListPage`.
    detected_at: Option<Span>,
    total: Option<i64>,
    has_anomalies: bool,
}

impl Page {
    pub fn str(&self, span: Span) -> &str {
        &self.text[span.start..span.end]
    }
}

/// `{detectedAt, total, anomalies}`.
#[derive(Debug)]
pub struct DetectPage {
    pub detected_at: Span,
    pub total: i64,
    pub page: Page,
}

/// `{anomalies, total}`.
#[derive(Debug)]
pub struct ListPage {
    pub total: i64,
    pub page: Page,
}

impl<'de> Deserialize<'de> for DetectPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let page = deserializer.deserialize_map(PageVisitor)?;
        Ok(DetectPage {
            detected_at: required(page.detected_at, "detectedAt")?,
            total: required(page.total, "total")?,
            page: required(page.has_anomalies.then_some(page), "anomalies")?,
        })
    }
}

impl<'de> Deserialize<'de> for ListPage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let page = deserializer.deserialize_map(PageVisitor)?;
        Ok(ListPage {
            total: required(page.total, "total")?,
            page: required(page.has_anomalies.then_some(page), "anomalies")?,
        })
    }
}

fn required<T, E: de::Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

/// Field names, matched without allocating.
macro_rules! field_names {
    ($name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        enum $name { $($variant,)* Unknown }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct NameVisitor;
                impl Visitor<'_> for NameVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a field name")
                    }
                    fn visit_str<E: de::Error>(self, name: &str) -> Result<$name, E> {
                        Ok(match name { $($text => $name::$variant,)* _ => $name::Unknown })
                    }
                }
                deserializer.deserialize_identifier(NameVisitor)
            }
        }
    };
}

field_names!(PageField { DetectedAt = "detectedAt", Total = "total", Anomalies = "anomalies" });
field_names!(AnomalyField {
    Id = "id",
    Type = "type",
    Severity = "severity",
    AgentId = "agentId",
    PrincipalId = "principalId",
    Description = "description",
    Metadata = "metadata",
    DetectedAt = "detectedAt",
    AcknowledgedAt = "acknowledgedAt",
});

struct PageVisitor;

impl<'de> Visitor<'de> for PageVisitor {
    type Value = Page;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a page of anomalies")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut page = Page::default();
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::DetectedAt => {
                    page.detected_at = Some(map.next_value_seed(Text(&mut page.text))?);
                }
                PageField::Total => page.total = Some(map.next_value()?),
                PageField::Anomalies => {
                    page.anomalies = map.next_value_seed(Anomalies(&mut page.text))?;
                    page.has_anomalies = true;
                }
                PageField::Unknown => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

/// A string, appended to the page's buffer.
struct Text<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for Text<'_> {
    type Value = Span;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Span, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Text<'_> {
    type Value = Span;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Span, E> {
        let start = self.0.len();
        self.0.push_str(value);
        Ok(Span {
            start,
            end: self.0.len(),
        })
    }
}

/// A string or `null`.
struct OptionalText<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for OptionalText<'_> {
    type Value = Option<Span>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for OptionalText<'_> {
    type Value = Option<Span>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Text(self.0).deserialize(deserializer).map(Some)
    }
}

/// The `anomalies` array.
struct Anomalies<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for Anomalies<'_> {
    type Value = Vec<AnomalySpans>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Anomalies<'_> {
    type Value = Vec<AnomalySpans>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of anomalies")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut anomalies = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(anomaly) = seq.next_element_seed(OneAnomaly(&mut *self.0))? {
            anomalies.push(anomaly);
        }
        Ok(anomalies)
    }
}

/// One element of `anomalies`.
struct OneAnomaly<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for OneAnomaly<'_> {
    type Value = AnomalySpans;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OneAnomaly<'_> {
    type Value = AnomalySpans;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an anomaly")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnomalySpans, A::Error> {
        let text = self.0;
        let (mut id, mut type_, mut severity, mut description, mut detected_at) =
            (None, None, None, None, None);
        let (mut agent_id, mut principal_id, mut acknowledged_at) = (None, None, None);
        let mut metadata = Metadata::Absent;
        while let Some(field) = map.next_key::<AnomalyField>()? {
            match field {
                AnomalyField::Id => id = Some(map.next_value_seed(Text(text))?),
                AnomalyField::Type => type_ = Some(map.next_value_seed(Text(text))?),
                AnomalyField::Severity => severity = Some(map.next_value_seed(Text(text))?),
                AnomalyField::Description => {
                    description = Some(map.next_value_seed(Text(text))?);
                }
                AnomalyField::DetectedAt => {
                    detected_at = Some(map.next_value_seed(Text(text))?);
                }
                AnomalyField::AgentId => agent_id = map.next_value_seed(OptionalText(text))?,
                AnomalyField::PrincipalId => {
                    principal_id = map.next_value_seed(OptionalText(text))?;
                }
                AnomalyField::AcknowledgedAt => {
                    acknowledged_at = map.next_value_seed(OptionalText(text))?;
                }
                AnomalyField::Metadata => metadata = map.next_value_seed(MetadataSeed(text))?,
                AnomalyField::Unknown => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(AnomalySpans {
            id: required(id, "id")?,
            type_: required(type_, "type")?,
            severity: required(severity, "severity")?,
            agent_id,
            principal_id,
            description: required(description, "description")?,
            metadata,
            detected_at: required(detected_at, "detectedAt")?,
            acknowledged_at,
        })
    }
}

/// `metadata`, in whichever form it comes.
struct MetadataSeed<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for MetadataSeed<'_> {
    type Value = Metadata;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Metadata, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for MetadataSeed<'_> {
    type Value = Metadata;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Metadata, E> {
        Text(self.0).visit_str(value).map(Metadata::Text)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Metadata, E> {
        Ok(Metadata::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<Metadata, E> {
        Ok(Metadata::Absent)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Metadata, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Metadata, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Metadata::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Metadata, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Metadata::Other)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Metadata, E> {
        Ok(Metadata::Other(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Metadata, E> {
        Ok(Metadata::Other(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Metadata, E> {
        Ok(Metadata::Other(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Metadata, E> {
        Ok(Metadata::Other(Value::from(v)))
    }
}
