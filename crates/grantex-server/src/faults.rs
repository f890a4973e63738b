//! Fault injection: make the next N matching requests fail in a chosen way.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Deserialize;

/// What an injected fault does to a matching request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with `status` and `body` (JSON; `None` gives the hosted error shape
    /// `{"message": <reason phrase>, "code": "INJECTED_FAULT", "requestId"}`), plus
    /// `retry-after: N` when `retry_after` is set. The request is not processed.
    Status {
        /// HTTP status code, e.g. 503.
        status: u16,
        /// Raw response body, sent as `application/json`.
        body: Option<String>,
        /// Seconds for a `retry-after` header.
        retry_after: Option<u64>,
    },
    /// Wait this long, then process the request normally.
    Delay(Duration),
    /// Close the connection without answering (the client sees the connection
    /// closed before a response). The request is not processed.
    Drop,
    /// Answer 200 `application/json` with a truncated JSON body. The request is not
    /// processed.
    MalformedBody,
}

/// A fault for the next `times` requests matching `method` and `path`.
///
/// Faults are checked before authentication and rate limits, in the order they were
/// injected; each matching request consumes one use of the first matching fault.
/// Test-only routes (`/v1/test/...`) are never faulted.
///
/// ```
/// use grantex_server::{Fault, FaultAction};
/// // The next two list calls answer 503 with `retry-after: 1`.
/// let fault = Fault::new(FaultAction::Status { status: 503, body: None, retry_after: Some(1) })
///     .method("GET")
///     .path("/v1/anomalies")
///     .times(2);
/// # let _ = fault;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// HTTP method to match (case-insensitive); `None` matches any method.
    pub method: Option<String>,
    /// Path pattern to match against the request path (without query string); `*`
    /// matches any run of characters, including `/` (e.g. `/v1/anomalies/*`).
    /// `None` matches any path.
    pub path: Option<String>,
    /// How many matching requests this fault applies to.
    pub times: u32,
    /// What happens to them.
    pub action: FaultAction,
}

impl Fault {
    /// A fault for the next request to any route.
    pub fn new(action: FaultAction) -> Self {
        Fault {
            method: None,
            path: None,
            times: 1,
            action,
        }
    }

    /// Only requests with this method.
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Only requests whose path matches this pattern (see [`Fault::path`](Fault#structfield.path)).
    pub fn path(mut self, pattern: impl Into<String>) -> Self {
        self.path = Some(pattern.into());
        self
    }

    /// Apply to the next `times` matching requests instead of one.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m == "*" || m.eq_ignore_ascii_case(method))
            && self.path.as_deref().is_none_or(|p| glob_match(p, path))
    }
}

/// Injected faults not yet used up.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    faults: VecDeque<Fault>,
}

impl FaultQueue {
    pub fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.faults.push_back(fault);
        }
    }

    pub fn clear(&mut self) -> usize {
        let n = self.faults.len();
        self.faults.clear();
        n
    }

    /// Remaining uses over all faults.
    pub fn pending(&self) -> u64 {
        self.faults.iter().map(|f| u64::from(f.times)).sum()
    }

    /// Consumes one use of the first fault matching the request.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let index = self.faults.iter().position(|f| f.matches(method, path))?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let action = fault.action.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(action)
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The JSON form of a fault for `POST /v1/test/faults`:
/// `{"method"?, "path"?, "times"? (default 1), "action": "status"|"delay"|"drop"|"malformed",
///   "status"?, "body"? (string or JSON), "retryAfter"?, "delayMs"?}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct FaultSpec {
    method: Option<String>,
    path: Option<String>,
    times: Option<u32>,
    action: String,
    status: Option<u16>,
    body: Option<serde_json::Value>,
    retry_after: Option<u64>,
    delay_ms: Option<u64>,
}

impl FaultSpec {
    pub fn into_fault(self) -> Result<Fault, String> {
        let action = match self.action.as_str() {
            "status" => {
                let status = self.status.ok_or("action \"status\" needs \"status\"")?;
                if !(100..=999).contains(&status) {
                    return Err(format!("invalid status {status}"));
                }
                FaultAction::Status {
                    status,
                    body: self.body.map(|b| match b {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    }),
                    retry_after: self.retry_after,
                }
            }
            "delay" => FaultAction::Delay(Duration::from_millis(
                self.delay_ms.ok_or("action \"delay\" needs \"delayMs\"")?,
            )),
            "drop" => FaultAction::Drop,
            "malformed" => FaultAction::MalformedBody,
            other => {
                return Err(format!(
                    "unknown action {other:?} (expected status, delay, drop or malformed)"
                ))
            }
        };
        Ok(Fault {
            method: self.method,
            path: self.path,
            times: self.times.unwrap_or(1),
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("/v1/anomalies", "/v1/anomalies"));
        assert!(!glob_match("/v1/anomalies", "/v1/anomalies/detect"));
        assert!(glob_match("/v1/anomalies/*", "/v1/anomalies/detect"));
        assert!(glob_match(
            "/v1/anomalies/*/acknowledge",
            "/v1/anomalies/anm_1/acknowledge"
        ));
        assert!(!glob_match("/v1/anomalies/*/acknowledge", "/v1/anomalies"));
        assert!(glob_match("*", "/anything"));
    }

    #[test]
    fn faults_are_consumed_in_order() {
        let mut q = FaultQueue::default();
        q.push(
            Fault::new(FaultAction::Drop)
                .method("get")
                .path("/v1/anomalies")
                .times(2),
        );
        q.push(Fault::new(FaultAction::MalformedBody));
        assert_eq!(q.pending(), 3);
        assert_eq!(
            q.take("POST", "/v1/anomalies/detect"),
            Some(FaultAction::MalformedBody)
        );
        assert_eq!(q.take("GET", "/v1/anomalies"), Some(FaultAction::Drop));
        assert_eq!(q.take("GET", "/v1/anomalies"), Some(FaultAction::Drop));
        assert_eq!(q.take("GET", "/v1/anomalies"), None);
    }
}
