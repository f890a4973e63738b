//! The request layer, written once and shared by the Rust client and the Python bindings:
//! retries with backoff, `Retry-After`, rate-limit bookkeeping, and the classification of
//! every outcome of a generated call into [`crate::Error`].

use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use progenitor_client::{Error as GeneratedError, ResponseValue};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::{
    error::{excerpt, ApiError, Error},
    models::RateLimit,
};

/// State shared by every clone of a client and reached by the generated code's post hook.
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
}

/// The generated client's post hook: runs on every response, success or failure, so
/// `last_rate_limit` is current even when the body then fails to decode.
pub fn observe_response(shared: &Arc<Shared>, result: &Result<reqwest::Response, reqwest::Error>) {
    if let Ok(response) = result {
        // Like the documented SDK: the last response's headers, `None` when it had none.
        *shared
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = parse_rate_limit(response.headers());
    }
}

/// When and how often to try again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RetryPolicy {
    pub max_retries: u32,
    /// The longest `Retry-After` honoured; a longer one is waited for this long.
    pub max_retry_after: Duration,
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
/// set, and from there to Python's `logging` in the bindings): one event per attempt at
/// INFO (operation, status, attempt, elapsed ms, request id), one per retry with its
/// reason and wait. Nothing from the request's headers or body is logged: no API key, no
/// channel secret, at any level.
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
        GeneratedError::CommunicationError(e) | GeneratedError::ResponseBodyError(e) => {
            Error::from_transport(e, timeout)
        }
        GeneratedError::InvalidUpgrade(e) => Error::from_transport(e, timeout),
        // Only 200 is declared, so a body that failed to decode came with a 200.
        GeneratedError::InvalidResponsePayload(bytes, e) => Error::Decode {
            status: 200,
            message: e.to_string(),
            excerpt: excerpt(&bytes),
            rate_limit: None,
        },
        GeneratedError::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let rate_limit = parse_rate_limit(&headers);
            let bytes = match response.bytes().await {
                Ok(bytes) => bytes,
                Err(e) => return Err(Error::from_transport(e, timeout)),
            };
            if (200..300).contains(&status) {
                return serde_json::from_slice::<W>(&bytes).map_err(|e| Error::Decode {
                    status,
                    message: e.to_string(),
                    excerpt: excerpt(&bytes),
                    rate_limit,
                });
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

    #[test]
    fn backoff_doubles_from_half_a_second_and_is_capped() {
        let policy = RetryPolicy {
            max_retries: 3,
            max_retry_after: Duration::from_secs(120),
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
