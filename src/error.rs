//! The one error type of the crate. Every failure is told apart by its variant, never by
//! matching on a message; the Python bindings map each variant to one exception class.
//!
//! No variant ever holds the API key: messages are built from statuses, bodies and the
//! causes' own messages (which name the URL, never the headers).

use std::{error::Error as StdError, fmt, time::Duration};

use serde_json::Value;

use crate::models::RateLimit;

/// Everything that can go wrong with a Grantex call or with building a client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status.
    #[error(transparent)]
    Api(Box<ApiError>),

    /// The request never got an answer: connection refused or reset, DNS, TLS.
    #[error("network error: {message}")]
    Network {
        /// What failed, with the chain of causes.
        message: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// No complete answer within the client's timeout.
    #[error("request timed out after {timeout:?}: {message}")]
    Timeout {
        /// The per-attempt timeout that fired.
        timeout: Duration,
        /// What was going on, with the chain of causes.
        message: String,
        /// The underlying error, when the HTTP stack reported one (a stalled attempt is
        /// cut by the client's own timer, with none).
        #[source]
        source: Option<reqwest::Error>,
    },

    /// A 2xx response whose body is not what the API describes (truncated, not JSON,
    /// missing fields).
    #[error(
        "could not decode the HTTP {status} response: {message} (body starts with {excerpt:?})"
    )]
    Decode {
        /// The HTTP status.
        status: u16,
        /// What the decoder said.
        message: String,
        /// The first characters of the body.
        excerpt: String,
        /// The rate-limit headers of the response.
        rate_limit: Option<RateLimit>,
    },

    /// The response body was larger than the client's cap (`max_response_bytes`); reading
    /// stopped there.
    #[error(
        "the HTTP {status} response is larger than the limit of {limit} bytes (max_response_bytes)"
    )]
    ResponseTooLarge {
        /// The HTTP status.
        status: u16,
        /// The cap, in bytes.
        limit: u64,
    },

    /// The server's answer is not usable HTTP (a `101 Switching Protocols` nobody asked
    /// for, more headers than the client accepts, a malformed status line). Not retried:
    /// the same server would answer the same.
    #[error("invalid HTTP answer: {message}")]
    Protocol {
        /// What was wrong, with the chain of causes.
        message: String,
    },

    /// The machine is out of what a client needs (file descriptors, memory): the OS error
    /// is the source.
    #[error("out of resources: {message}")]
    Resources {
        /// What could not be done, with the OS error.
        message: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The client could not be built: no API key, an unusable key, a malformed base URL.
    #[error("invalid configuration: {0}")]
    Config(String),

    /// An argument was refused before anything was sent (e.g. an id that cannot be one URL
    /// path segment).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// A non-2xx answer of the server, in either of its error shapes (`{message, code,
/// requestId}` from the application, `{message, error, statusCode}` from the framework) or
/// none (an HTML page from a proxy, an empty body).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The machine-readable code (`NOT_FOUND`, `UNAUTHORIZED`, ...), when the body has one.
    pub code: Option<String>,
    /// The body's `message`, else `error` (a string), else `error.message`, else `HTTP <status>`.
    pub message: String,
    /// The `x-request-id` header, else the body's `requestId`.
    pub request_id: Option<String>,
    /// The body, decoded as JSON when it is JSON, else the text (`None` when empty).
    pub body: Option<Value>,
    /// The rate-limit headers of the response.
    pub rate_limit: Option<RateLimit>,
    /// How long the server asked to wait (`Retry-After`, in seconds or as an HTTP date).
    pub retry_after: Option<Duration>,
    /// Where a 3xx answer pointed (`Location`): redirects are never followed, since another
    /// origin's answer is not Grantex's and a POST or PATCH would turn into a GET.
    pub location: Option<String>,
}

impl ApiError {
    /// Builds the error from a raw response's parts; works for any body.
    pub(crate) fn from_parts(
        status: u16,
        headers: &reqwest::header::HeaderMap,
        bytes: &[u8],
        rate_limit: Option<RateLimit>,
        retry_after: Option<Duration>,
    ) -> ApiError {
        let body = decode_body(bytes);
        let object = body.as_ref().and_then(Value::as_object);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let nested = object
            .and_then(|o| o.get("error"))
            .and_then(Value::as_object);
        let message = text(object.and_then(|o| o.get("message")))
            .or_else(|| text(object.and_then(|o| o.get("error"))))
            .or_else(|| text(nested.and_then(|e| e.get("message"))))
            .unwrap_or_else(|| format!("HTTP {status}"));
        let location = (300..400)
            .contains(&status)
            .then(|| headers.get("location")?.to_str().ok().map(str::to_owned))
            .flatten();
        let message = match &location {
            Some(to) if object.is_none() => {
                format!("HTTP {status}: redirected to {to} (redirects are not followed)")
            }
            _ => message,
        };
        let code = text(object.and_then(|o| o.get("code")))
            .or_else(|| text(nested.and_then(|e| e.get("code"))));
        let request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| text(object.and_then(|o| o.get("requestId"))));
        ApiError {
            status,
            code,
            message,
            request_id,
            body,
            rate_limit,
            retry_after,
            location,
        }
    }

    /// 401 or 403: the key is missing, unknown or not allowed.
    pub fn is_auth(&self) -> bool {
        matches!(self.status, 401 | 403)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}", self.message, self.status)?;
        if let Some(code) = &self.code {
            write!(f, ", code {code}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, ", request id {id}")?;
        }
        f.write_str(")")
    }
}

impl StdError for ApiError {}

impl Error {
    /// Says how many attempts a network failure or a timeout took, when there were several.
    pub(crate) fn after_attempts(self, attempts: u32) -> Error {
        if attempts < 2 {
            return self;
        }
        let note = |message: String| format!("{message} (gave up after {attempts} attempts)");
        match self {
            Error::Network { message, source } => Error::Network {
                message: note(message),
                source,
            },
            Error::Timeout {
                timeout,
                message,
                source,
            } => Error::Timeout {
                timeout,
                message: note(message),
                source,
            },
            other => other,
        }
    }

    /// The HTTP status, for errors that come from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Decode { status, .. } | Error::ResponseTooLarge { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's request id, when it sent one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            _ => None,
        }
    }

    /// The API error, when the server answered with a non-2xx status.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// 401 or 403.
    pub fn is_auth(&self) -> bool {
        self.as_api().is_some_and(ApiError::is_auth)
    }

    /// Whether trying again may succeed: connection failures, timeouts, and the statuses
    /// 429, 502, 503, 504.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Timeout { .. } => true,
            Error::Api(e) => matches!(e.status, 429 | 502 | 503 | 504),
            _ => false,
        }
    }

    pub(crate) fn from_transport(source: reqwest::Error, timeout: Duration) -> Error {
        let message = describe_chain(&source);
        if find_cause::<hyper::Error>(&source).is_some_and(hyper::Error::is_parse) {
            return Error::Protocol { message };
        }
        if source.is_timeout() {
            Error::Timeout {
                timeout,
                message,
                source: Some(source),
            }
        } else {
            Error::Network { message, source }
        }
    }
}

impl Error {
    /// A failure while reading a response body: the size cap, or a transport failure.
    pub(crate) fn from_body(source: reqwest::Error, status: u16, timeout: Duration) -> Error {
        match find_cause::<crate::transport::BodyTooLarge>(&source) {
            Some(too_large) => Error::ResponseTooLarge {
                status,
                limit: too_large.limit,
            },
            None => Error::from_transport(source, timeout),
        }
    }
}

/// The first error of type `E` in the chain of causes.
pub(crate) fn find_cause<'a, E: StdError + 'static>(
    error: &'a (dyn StdError + 'static),
) -> Option<&'a E> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<E>() {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

/// An error and its causes, joined: reqwest's own `Display` hides the cause ("error sending
/// request") that says what really happened ("connection refused").
pub(crate) fn describe_chain(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = c.source();
    }
    message
}

/// The body as JSON when it is JSON, else as text; `None` when empty.
fn decode_body(bytes: &[u8]) -> Option<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice(bytes)
        .ok()
        .or_else(|| Some(Value::String(String::from_utf8_lossy(bytes).into_owned())))
}

/// The first characters of a body, for messages about bodies that did not decode.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;
    use serde_json::json;

    fn api(status: u16, body: &str) -> ApiError {
        ApiError::from_parts(status, &HeaderMap::new(), body.as_bytes(), None, None)
    }

    #[test]
    fn message_falls_back_through_the_documented_fields() {
        assert_eq!(api(400, r#"{"message":"m","error":"e"}"#).message, "m");
        assert_eq!(
            api(404, r#"{"error":"Not Found","statusCode":404}"#).message,
            "Not Found"
        );
        let nested = api(400, r#"{"error":{"message":"deep","code":"X"}}"#);
        assert_eq!(
            (nested.message.as_str(), nested.code.as_deref()),
            ("deep", Some("X"))
        );
        assert_eq!(api(502, "<html>bad gateway</html>").message, "HTTP 502");
        assert_eq!(api(500, "").message, "HTTP 500");
        assert_eq!(api(500, "").body, None);
        assert_eq!(api(502, "<p>").body, Some(json!("<p>")));
    }

    #[test]
    fn request_id_header_wins_over_the_body() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", "from-header".parse().unwrap());
        let e = ApiError::from_parts(404, &headers, br#"{"requestId":"from-body"}"#, None, None);
        assert_eq!(e.request_id.as_deref(), Some("from-header"));
        assert_eq!(
            api(404, r#"{"requestId":"from-body"}"#)
                .request_id
                .as_deref(),
            Some("from-body")
        );
    }

    #[test]
    fn excerpt_is_short_and_cuts_on_a_character_boundary() {
        let long = "é".repeat(500);
        let cut = excerpt(long.as_bytes());
        assert_eq!(cut.chars().count(), 201);
        assert_eq!(excerpt(b"{\"a\""), "{\"a\"");
    }
}
