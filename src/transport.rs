//! The request layer, written once and shared by the Rust client and the Python bindings:
//! the generated client's hooks (authentication, the response-size cap, rate-limit
//! bookkeeping, debug logging of headers), retries with backoff, `Retry-After`, and the
//! classification of every outcome of a generated call into [`crate::Error`].

use std::{
    fmt,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use http_body_util::{BodyExt, LengthLimitError, Limited};
use progenitor_client::{
    ClientHooks, ClientInfo, Error as GeneratedError, OperationInfo, ResponseValue,
};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, USER_AGENT};
use reqwest::ResponseBuilderExt;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::{
    error::{excerpt, ApiError, Error},
    generated,
    models::RateLimit,
};

/// State shared by every clone of a client: what the last response said about the rate
/// limit.
#[derive(Debug, Default)]
pub struct Shared {
    last_rate_limit: Mutex<Option<RateLimit>>,
}

impl Shared {
    pub(crate) fn last_rate_limit(&self) -> Option<RateLimit> {
        *self
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn observe(&self, headers: &HeaderMap) {
        // Like the documented SDK: the last response's headers, `None` when it had none.
        *self
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = parse_rate_limit(headers);
    }
}

/// What the generated client carries for its hooks (its "inner" value): the headers every
/// request gets and the response-size cap. Set per request rather than as the HTTP
/// client's default headers, so that a user's own `reqwest::Client` works too.
#[derive(Clone)]
pub struct Hooks {
    pub(crate) shared: Arc<Shared>,
    /// `Bearer <key>`, marked sensitive.
    pub(crate) authorization: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    /// The largest response body read, in bytes.
    pub(crate) max_response_bytes: u64,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("authorization", &"[redacted]")
            .field("user_agent", &self.user_agent)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Headers whose values never reach a log line.
const REDACTED_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

/// Headers for a DEBUG log line, with secrets replaced; formatted only when the line is
/// written.
struct LoggedHeaders<'a>(&'a HeaderMap);

impl fmt::Display for LoggedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, value) in self.0 {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            let secret = value.is_sensitive() || REDACTED_HEADERS.contains(&name.as_str());
            match value.to_str() {
                _ if secret => write!(f, "{name}: [redacted]")?,
                Ok(text) => write!(f, "{name}: {text}")?,
                Err(_) => write!(f, "{name}: [{} bytes]", value.len())?,
            }
        }
        Ok(())
    }
}

/// A response body larger than the client's cap.
#[derive(Debug)]
pub(crate) struct BodyTooLarge {
    pub limit: u64,
}

impl fmt::Display for BodyTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the response body is larger than {} bytes", self.limit)
    }
}

impl std::error::Error for BodyTooLarge {}

/// A body that fails at once with [`BodyTooLarge`].
struct Refused(Option<u64>);

impl http_body::Body for Refused {
    type Data = bytes::Bytes;
    type Error = BodyTooLarge;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, BodyTooLarge>>> {
        std::task::Poll::Ready(self.0.take().map(|limit| Err(BodyTooLarge { limit })))
    }
}

impl ClientHooks<Hooks> for generated::Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let hooks = self.inner();
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, hooks.authorization.clone());
        headers.insert(USER_AGENT, hooks.user_agent.clone());
        tracing::debug!(
            target: "grantex",
            "request {} {} [{}]",
            request.method(),
            request.url(),
            LoggedHeaders(request.headers()),
        );
        let response = self.client().execute(request).await?;
        hooks.shared.observe(response.headers());
        tracing::debug!(
            target: "grantex",
            "response {} [{}]",
            response.status().as_u16(),
            LoggedHeaders(response.headers()),
        );
        Ok(cap_body(response, hooks.max_response_bytes))
    }
}

/// The response with its body cut off at `limit` bytes: reading more fails with
/// [`BodyTooLarge`] as the error's cause, while the body streams in, so memory stays
/// within the cap plus one read buffer. A `Content-Length` above the cap fails at once.
fn cap_body(response: reqwest::Response, limit: u64) -> reqwest::Response {
    let url = response.url().clone();
    let declared = response.content_length();
    let (mut parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    // The conversion drops the URL, which reqwest's errors name; put it back.
    let extensions = http::Response::builder()
        .url(url)
        .body(())
        .map(|r| r.into_parts().0.extensions);
    if let Ok(extensions) = extensions {
        parts.extensions.extend(extensions);
    }
    let body = match declared {
        // A declared length above the cap fails before any of the body is read.
        Some(length) if length > limit => reqwest::Body::wrap(Refused(Some(limit))),
        _ => {
            let cap = usize::try_from(limit).unwrap_or(usize::MAX);
            reqwest::Body::wrap(Limited::new(body, cap).map_err(move |e| {
                if e.is::<LengthLimitError>() {
                    Box::new(BodyTooLarge { limit }) as Box<dyn std::error::Error + Send + Sync>
                } else {
                    e
                }
            }))
        }
    };
    reqwest::Response::from(http::Response::from_parts(parts, body))
}

/// When and how often to try again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RetryPolicy {
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a longer one is waited for this long.
    pub max_retry_after: Duration,
    /// The longest one call may take, attempts and waits included (`None`: no limit but
    /// the attempts' own timeouts).
    pub deadline: Option<Duration>,
}

const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

impl RetryPolicy {
    /// The wait before retry number `attempt + 1`: the server's `Retry-After` when it gave
    /// one (capped), else exponential backoff from 0.5 s with up to 0.5 s of jitter, capped
    /// at 10 s (the documented SDK's schedule).
    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let exponential =
            BACKOFF_BASE.saturating_mul(1u32.checked_shl(attempt).unwrap_or(u32::MAX));
        let jitter = BACKOFF_BASE.mul_f64(fastrand::f64());
        exponential.saturating_add(jitter).min(BACKOFF_MAX)
    }
}

/// Sends one operation, retrying what is worth retrying, and turns the outcome into the
/// crate's types. `send` builds and sends a fresh request for each attempt.
///
/// Logging (`tracing`, target `grantex`; forwarded to the `log` crate when no subscriber is
/// set, and from there to Python's `logging` in the bindings): a span per call
/// (`grantex.call`, target `grantex::call`, with the operation), one event per attempt at
/// INFO (operation, status, attempt, elapsed ms, request id), one per retry with its reason and wait, and at DEBUG
/// each request's and response's headers with `Authorization` and the like redacted. No
/// body is logged: no API key, no channel secret, at any level.
pub(crate) async fn execute<T, F, Fut>(
    label: &'static str,
    policy: RetryPolicy,
    timeout: Duration,
    send: F,
) -> Result<T, Error>
where
    T: DeserializeOwned,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, GeneratedError<()>>>,
{
    // Its own target, under `grantex` for subscribers' filters: the log records that spans
    // also become without a subscriber stay out of the one-line-per-attempt log.
    let span = tracing::info_span!(target: "grantex::call", "grantex.call", operation = label);
    let attempts = attempt_until_done(label, policy, timeout, send);
    let Some(deadline) = policy.deadline else {
        return attempts.instrument(span).await;
    };
    match tokio::time::timeout(deadline, attempts)
        .instrument(span)
        .await
    {
        Ok(outcome) => outcome,
        Err(_elapsed) => Err(Error::Timeout {
            timeout: deadline,
            message: format!(
                "no answer within the call's deadline of {deadline:?}, retries included"
            ),
            source: None,
        }),
    }
}

async fn attempt_until_done<T, F, Fut>(
    label: &'static str,
    policy: RetryPolicy,
    timeout: Duration,
    send: F,
) -> Result<T, Error>
where
    T: DeserializeOwned,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, GeneratedError<()>>>,
{
    let call_started = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        let started = std::time::Instant::now();
        // The timeout is this layer's, per attempt (connecting, headers and body), so that
        // clients with other options can share one connection pool.
        let outcome = match tokio::time::timeout(timeout, send()).await {
            Ok(Ok(value)) => Ok((
                value.status().as_u16(),
                request_id(value.headers()),
                value.into_inner(),
            )),
            Ok(Err(e)) => classify::<T>(e, timeout)
                .await
                .map(|value| (200, None, value)),
            Err(_elapsed) => Err(Error::Timeout {
                timeout,
                message: format!("no complete answer within {timeout:?}"),
                source: None,
            }),
        };
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        let error = match outcome {
            Ok((status, request_id, value)) => {
                tracing::info!(
                    target: "grantex",
                    "{label} -> {status} (attempt {}, {elapsed_ms:.1} ms, request id {})",
                    attempt + 1,
                    request_id.as_deref().unwrap_or("-"),
                );
                return Ok(value);
            }
            Err(error) => error,
        };
        let status = error
            .status()
            .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        tracing::info!(
            target: "grantex",
            "{label} -> {status} (attempt {}, {elapsed_ms:.1} ms, request id {})",
            attempt + 1,
            error.request_id().unwrap_or("-"),
        );
        if attempt >= policy.max_retries || !error.is_retryable() {
            return Err(error.after_attempts(attempt + 1));
        }
        let retry_after = error.as_api().and_then(|e| e.retry_after);
        let wait = policy.delay(attempt, retry_after);
        if policy
            .deadline
            .is_some_and(|deadline| call_started.elapsed() + wait >= deadline)
        {
            // Waiting would end past the deadline: this error says more than a timeout.
            return Err(error.after_attempts(attempt + 1));
        }
        tracing::info!(
            target: "grantex",
            "{label}: retrying in {:.2} s after {}",
            wait.as_secs_f64(),
            retry_reason(&error),
        );
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// Why a failed attempt is retried, for the log: the status, or what failed.
fn retry_reason(error: &Error) -> String {
    match error {
        Error::Api(e) => format!("HTTP {}", e.status),
        Error::Timeout { timeout, .. } => format!("a timeout ({timeout:?})"),
        Error::Network { message, .. } => format!("a network error ({message})"),
        other => other.to_string(),
    }
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    Some(headers.get("x-request-id")?.to_str().ok()?.to_owned())
}

/// Every failure of a generated call, as an [`Error`]; or the value, in the rare case of an
/// undeclared 2xx status (201, ...) whose body still decodes.
async fn classify<W: DeserializeOwned>(
    error: GeneratedError<()>,
    timeout: Duration,
) -> Result<W, Error> {
    Err(match error {
        GeneratedError::CommunicationError(e) => Error::from_transport(e, timeout),
        // Only 200 is declared, so a body that could not be read came with a 200.
        GeneratedError::ResponseBodyError(e) => Error::from_body(e, 200, timeout),
        GeneratedError::InvalidUpgrade(e) => Error::from_transport(e, timeout),
        // Only 200 is declared, so a body that failed to decode came with a 200.
        GeneratedError::InvalidResponsePayload(bytes, e) => {
            return decode_leniently(&bytes, e, 200, None);
        }
        GeneratedError::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let rate_limit = parse_rate_limit(&headers);
            if status < 200 {
                // hyper answers 100 and 103 itself; what reaches here is a 101 nobody asked
                // for, after which the connection speaks another protocol.
                return Err(Error::Protocol {
                    message: format!("the server answered HTTP {status} to a plain request"),
                });
            }
            let bytes = match response.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => return Err(Error::from_body(e, status, timeout)),
            };
            if (200..300).contains(&status) {
                return decode(&bytes, status, rate_limit);
            }
            let retry_after = parse_retry_after(&headers, SystemTime::now());
            ApiError::from_parts(status, &headers, &bytes, rate_limit, retry_after).into()
        }
        // Not produced: no error response is declared and no hook returns one.
        GeneratedError::ErrorResponse(value) => {
            Error::InvalidArgument(format!("unexpected HTTP {}", value.status()))
        }
        GeneratedError::InvalidRequest(message) | GeneratedError::Custom(message) => {
            Error::InvalidArgument(message)
        }
    })
}

/// A 2xx body as `W`: strict JSON first, then what `json.loads` also accepts.
pub(crate) fn decode<W: DeserializeOwned>(
    bytes: &[u8],
    status: u16,
    rate_limit: Option<RateLimit>,
) -> Result<W, Error> {
    match serde_json::from_slice::<W>(bytes) {
        Ok(value) => Ok(value),
        Err(e) => decode_leniently(bytes, e, status, rate_limit),
    }
}

/// The second try at a body serde_json refused: what Python's `json.loads` accepts beyond
/// strict JSON (`NaN`, `Infinity`, lone surrogate escapes, duplicate keys, a UTF-8 BOM) is
/// made strict with markers (`crate::lenient`) and decoded again. Runs only after the
/// strict decode failed, so well-formed bodies pay nothing.
fn decode_leniently<W: DeserializeOwned>(
    bytes: &[u8],
    strict_error: serde_json::Error,
    status: u16,
    rate_limit: Option<RateLimit>,
) -> Result<W, Error> {
    let failure = |message: String| Error::Decode {
        status,
        message,
        excerpt: excerpt(bytes),
        rate_limit,
    };
    match crate::lenient::to_strict(bytes) {
        Ok(strict) => serde_json::from_slice::<W>(&strict).map_err(|e| failure(e.to_string())),
        // Not JSON even by `json.loads`: serde_json's message is the more familiar one.
        Err(_) => Err(failure(strict_error.to_string())),
    }
}

/// The rate-limit headers, when all three of limit, remaining and reset are present.
pub(crate) fn parse_rate_limit(headers: &HeaderMap) -> Option<RateLimit> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    Some(RateLimit {
        limit: number("x-ratelimit-limit")?,
        remaining: number("x-ratelimit-remaining")?,
        reset: number("x-ratelimit-reset")?,
        retry_after: parse_retry_after(headers, SystemTime::now()).map(|d| d.as_secs()),
    })
}

/// `Retry-After` as a wait: seconds (fractions allowed), or an HTTP date (the time left
/// until it, zero when past). A wait too long to represent (`1e20`, `inf`) is the longest
/// one, which the retry policy then cuts to its cap; a negative or unreadable value is no
/// wait at all (`None`: the normal backoff applies).
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_nan() || seconds < 0.0 {
            return None;
        }
        return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let secs = headers(&[("retry-after", "60")]);
        assert_eq!(parse_retry_after(&secs, now), Some(Duration::from_secs(60)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let dated = headers(&[("retry-after", &date)]);
        assert_eq!(
            parse_retry_after(&dated, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "soon")]), now),
            None
        );
        for huge in ["1e20", "inf", "Infinity", "99999999999999999999"] {
            assert_eq!(
                parse_retry_after(&headers(&[("retry-after", huge)]), now),
                Some(Duration::MAX),
                "{huge}"
            );
        }
        for unusable in ["-5", "NaN", "-inf"] {
            assert_eq!(
                parse_retry_after(&headers(&[("retry-after", unusable)]), now),
                None,
                "{unusable}"
            );
        }
    }

    #[test]
    fn rate_limit_needs_all_three_headers() {
        let full = headers(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "24"),
            ("retry-after", "24"),
        ]);
        assert_eq!(
            parse_rate_limit(&full),
            Some(RateLimit {
                limit: 100,
                remaining: 0,
                reset: 24,
                retry_after: Some(24)
            })
        );
        assert_eq!(
            parse_rate_limit(&headers(&[("x-ratelimit-limit", "100")])),
            None
        );
    }

    mod decoding {
        use super::super::decode;
        use crate::{Anomaly, DetectAnomaliesResponse, Error, ListAnomaliesResponse};
        use proptest::prelude::*;

        fn capture(http: &str) -> Vec<u8> {
            http.split_once("\r\n\r\n").unwrap().1.as_bytes().to_vec()
        }

        fn captures() -> Vec<Vec<u8>> {
            vec![
                capture(include_str!("../tests/fixtures/wire/list-200.http")),
                capture(include_str!("../tests/fixtures/wire/detect-200.http")),
                capture(include_str!("../tests/fixtures/wire/acknowledge-200.http")),
            ]
        }

        /// Every decoder on `body`: a value or a decode error, never a panic.
        fn decode_all(body: &[u8]) {
            for outcome in [
                decode::<ListAnomaliesResponse>(body, 200, None).map(|_| ()),
                decode::<DetectAnomaliesResponse>(body, 200, None).map(|_| ()),
                decode::<Anomaly>(body, 200, None).map(|_| ()),
            ] {
                if let Err(error) = outcome {
                    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
                }
            }
        }

        const INSERTS: [&[u8]; 9] = [
            b"NaN",
            b"-Infinity",
            b"\\ud83d",
            b"\"",
            b",",
            b"{",
            b"]",
            b"1e400",
            b"\xef\xbb\xbf",
        ];

        proptest! {
            #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

            #[test]
            fn mutated_captures_decode_or_fail_cleanly(
                which in 0usize..3,
                edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>(), 0usize..9), 1..6),
            ) {
                let mut body = captures()[which].clone();
                for (at, how, byte, insert) in edits {
                    if body.is_empty() {
                        break;
                    }
                    let at = at.index(body.len());
                    match how {
                        0 => body[at] = byte,
                        1 => { body.splice(at..at, INSERTS[insert].iter().copied()); }
                        2 => { body.drain(at..(at + 8).min(body.len())); }
                        _ => body.truncate(at),
                    }
                }
                decode_all(&body);
            }

            #[test]
            fn random_bytes_decode_or_fail_cleanly(body in prop::collection::vec(any::<u8>(), 0..256)) {
                decode_all(&body);
            }
        }

        #[test]
        fn a_lone_surrogate_and_nan_in_a_body_decode_as_documented() {
            let body = br#"{"anomalies":[{"id":"ag_\ud83d","type":"t","severity":"low","description":"d","detectedAt":"x","metadata":{"n":NaN,"big":123456789012345678901234567890,"s":"\udfff","k":1,"k":2}}],"total":1,"total":1}"#;
            let list: ListAnomaliesResponse = decode(body, 200, None).unwrap();
            let anomaly = &list.anomalies[0];
            // A Rust String cannot hold the surrogate: U+FFFD, then two invisible markers.
            assert!(anomaly.id.starts_with("ag_\u{FFFD}"), "{:?}", anomaly.id);
            // The metadata's text is what the server sent, duplicate key and all.
            assert!(
                anomaly.metadata.json().contains("NaN"),
                "{}",
                anomaly.metadata.json()
            );
            assert!(
                anomaly.metadata.json().contains("\\udfff"),
                "{}",
                anomaly.metadata.json()
            );
            assert!(anomaly
                .metadata
                .json()
                .contains("123456789012345678901234567890"));
            assert_eq!(anomaly.metadata["n"], serde_json::Value::Null);
            assert_eq!(anomaly.metadata["k"], serde_json::json!(2));
            assert_eq!(anomaly.metadata["s"], serde_json::json!("\u{FFFD}"));
        }

        #[test]
        fn arrays_are_not_taken_for_objects() {
            let array = br#"["anm_1","rate_spike","low",null,null,"d",{},"x",null]"#;
            assert!(matches!(
                decode::<Anomaly>(array, 200, None),
                Err(Error::Decode { .. })
            ));
            let nested = br#"{"anomalies":[["anm_1","rate_spike","low",null,null,"d",{},"x",null]],"total":1}"#;
            assert!(matches!(
                decode::<ListAnomaliesResponse>(nested, 200, None),
                Err(Error::Decode { .. })
            ));
        }
    }

    #[test]
    fn backoff_doubles_from_half_a_second_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 3,
            max_retry_after: Duration::from_secs(120),
            deadline: None,
        };
        for attempt in 0..3 {
            let d = policy.delay(attempt, None);
            let base = 0.5 * f64::from(1u32 << attempt);
            assert!(
                d.as_secs_f64() >= base && d.as_secs_f64() <= base + 0.5,
                "{attempt}: {d:?}"
            );
        }
        assert_eq!(policy.delay(40, None), BACKOFF_MAX);
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(500))),
            Duration::from_secs(120)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }
}
