//! Request bodies: reading the JSON, and typed bodies whose fields are checked one by
//! one, so that each route can answer the hosted server's message for the first
//! field that is wrong.

use axum::body::{to_bytes, Body};
use axum::http::{header, HeaderMap, Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::reply::{app_error, bad_request, Reply};
use crate::shared::Shared;

/// Largest request body accepted (the hosted framework's default is 1 MiB too).
const MAX_BODY_BYTES: usize = 1 << 20;

/// The parsed request body: `None` when there is none (or it is not JSON).
pub(super) type JsonBody = Option<Value>;

/// Reads the body; a JSON content type requires a non-empty, well-formed body on
/// methods that carry one, as the hosted framework does. A body that does not arrive
/// within the server's header-read timeout (the connection layer does not time a
/// request once its headers are in) is answered 408 `REQUEST_TIMEOUT`, and hyper then
/// closes the connection.
pub(super) async fn read_body(
    shared: &Shared,
    method: &Method,
    headers: &HeaderMap,
    body: Body,
) -> Result<JsonBody, Reply> {
    let bytes = tokio::time::timeout(shared.body_read_timeout, to_bytes(body, MAX_BODY_BYTES))
        .await
        .map_err(|_| {
            app_error(
                StatusCode::REQUEST_TIMEOUT,
                "Request body not received in time",
                "REQUEST_TIMEOUT",
            )
        })?
        .map_err(|_| {
            app_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is too large",
                "BAD_REQUEST",
            )
        })?;
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json")
        });
    let has_body_method = matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE");
    if !is_json || !has_body_method {
        return Ok(None);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(bad_request(
            "Body cannot be empty when content-type is set to 'application/json'",
        ));
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| bad_request(&format!("Invalid JSON body: {e}")))
}

/// The body as `T` when it is a JSON object; `None` otherwise (no body, an array, a
/// string, ...). With only [`Field`]s in `T`, any object converts.
pub(super) fn object<T: DeserializeOwned>(json: JsonBody) -> Option<T> {
    match json {
        Some(object @ Value::Object(_)) => T::deserialize(object).ok(),
        _ => None,
    }
}

/// One field of a request body, checked by the route rather than by serde: absent,
/// present with the expected type, or present with another (`null` included, unless
/// `T` is an `Option`).
#[derive(Debug, Default)]
pub(super) enum Field<T> {
    #[default]
    Absent,
    Valid(T),
    Invalid,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(T::deserialize(value).map_or(Field::Invalid, Field::Valid))
    }
}

impl Field<String> {
    /// The string, if present and not empty.
    pub fn non_empty(self) -> Option<String> {
        match self {
            Field::Valid(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    struct Example {
        name: Field<String>,
        when: Field<Option<String>>,
        count: Field<i64>,
    }

    #[test]
    fn fields_are_absent_valid_or_invalid() {
        let e: Example = object(Some(
            json!({"name": "x", "when": null, "count": 1.5, "other": 1}),
        ))
        .unwrap();
        assert!(matches!(e.name, Field::Valid(ref s) if s == "x"));
        assert!(matches!(e.when, Field::Valid(None)));
        assert!(matches!(e.count, Field::Invalid));
        let e: Example = object(Some(json!({"name": null}))).unwrap();
        assert!(matches!(e.name, Field::Invalid));
        assert!(matches!(e.when, Field::Absent));
        assert!(e.name.non_empty().is_none());
        assert!(object::<Example>(Some(json!(["x", null, 1]))).is_none());
        assert!(object::<Example>(None).is_none());
    }
}
