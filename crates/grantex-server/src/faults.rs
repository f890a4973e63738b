//! Fault injection: make the next N matching requests fail in a chosen way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;

use crate::sync::lock;

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
    /// `None` matches any path. Matching takes time linear in the lengths of the
    /// pattern and the path, whatever they are.
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
}

/// A queued fault: what it matches (shared with the snapshots that requests match
/// against), how many uses are left, and what it does.
#[derive(Debug)]
struct Queued {
    /// Unique within the queue, so that a use is taken from the fault that matched.
    id: u64,
    matcher: Arc<Matcher>,
    times: u32,
    action: FaultAction,
}

/// What a fault matches.
#[derive(Debug)]
struct Matcher {
    method: Option<String>,
    path: Option<String>,
}

impl Matcher {
    /// Linear in the lengths of the pattern and the path (see [`glob_match`]).
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
    faults: VecDeque<Queued>,
    next_id: u64,
}

impl FaultQueue {
    pub fn push(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.next_id += 1;
            self.faults.push_back(Queued {
                id: self.next_id,
                matcher: Arc::new(Matcher {
                    method: fault.method,
                    path: fault.path,
                }),
                times: fault.times,
                action: fault.action,
            });
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

    /// The faults' matchers, in order (cheap: reference counts).
    fn snapshot(&self) -> Vec<(u64, Arc<Matcher>)> {
        self.faults
            .iter()
            .map(|f| (f.id, Arc::clone(&f.matcher)))
            .collect()
    }

    /// Consumes one use of the first fault among `matching` (ids in queue order) still
    /// queued.
    fn take_first_of(&mut self, matching: &[u64]) -> Option<FaultAction> {
        let index = self.faults.iter().position(|f| matching.contains(&f.id))?;
        let fault = &mut self.faults[index];
        fault.times -= 1;
        let action = fault.action.clone();
        if fault.times == 0 {
            self.faults.remove(index);
        }
        Some(action)
    }

    /// Consumes one use of the first fault matching the request (under the caller's
    /// lock: for tests of the queue itself).
    #[cfg(test)]
    fn take(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        let matching: Vec<u64> = self
            .snapshot()
            .into_iter()
            .filter(|(_, m)| m.matches(method, path))
            .map(|(id, _)| id)
            .collect();
        self.take_first_of(&matching)
    }
}

/// Consumes one use of the first fault in `queue` matching the request. The patterns
/// are matched without holding the lock, which every API request takes: a long path
/// against a long pattern delays only its own request. A fault used up by another
/// request meanwhile is skipped (the next matching one is used); a fault injected
/// meanwhile is not seen by this request.
pub(crate) fn take_matching(
    queue: &Mutex<FaultQueue>,
    method: &str,
    path: &str,
) -> Option<FaultAction> {
    let snapshot = {
        let queue = lock(queue);
        if queue.faults.is_empty() {
            return None;
        }
        queue.snapshot()
    };
    let matching: Vec<u64> = snapshot
        .into_iter()
        .filter(|(_, matcher)| matcher.matches(method, path))
        .map(|(id, _)| id)
        .collect();
    if matching.is_empty() {
        return None;
    }
    lock(queue).take_first_of(&matching)
}

/// `*` matches any run of characters (`/` included); everything else matches itself.
///
/// In time linear in `pattern.len() + text.len()`, whatever the pattern: the literal
/// runs between stars are found left to right, each at its leftmost place after the
/// previous one (leftmost is always right when the only wildcard is `*`), with the
/// standard library's linear substring search; the run before the first star must
/// start the text and the run after the last one must end it.
fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let (middle, last) = rest.rsplit_once('*').unwrap_or(("", rest));
    let Some(text) = text.strip_prefix(first) else {
        return false;
    };
    let Some(mut text) = text.strip_suffix(last) else {
        return false;
    };
    // `strip_suffix` after `strip_prefix`: the two runs cannot overlap in the text.
    for run in middle.split('*').filter(|run| !run.is_empty()) {
        match text.find(run) {
            Some(at) => text = &text[at + run.len()..],
            None => return false,
        }
    }
    true
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
        assert!(glob_match("*", ""));
        assert!(glob_match("", ""));
        assert!(!glob_match("", "/"));
        assert!(glob_match("ab*ba", "abba"));
        assert!(!glob_match("ab*ba", "aba"), "prefix and suffix overlap");
        assert!(glob_match("*a*b*", "xaybz"));
        assert!(!glob_match("*a*b", "ba"));
        assert!(glob_match("/v1/**/x", "/v1//x"));
        assert!(!glob_match("/v1/**/x", "/v1/x"));
    }

    /// The textbook dynamic program, as a reference.
    fn reference(pattern: &[u8], text: &[u8]) -> bool {
        let mut row = vec![false; text.len() + 1];
        row[0] = true;
        for &p in pattern {
            let mut next = vec![false; text.len() + 1];
            if p == b'*' {
                let mut any = false;
                for (j, cell) in next.iter_mut().enumerate() {
                    any |= row[j];
                    *cell = any;
                }
            } else {
                for j in 1..=text.len() {
                    next[j] = row[j - 1] && text[j - 1] == p;
                }
            }
            row = next;
        }
        row[text.len()]
    }

    /// Every string over `alphabet` up to `max_len` characters.
    fn strings(alphabet: &[u8], max_len: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max_len {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |&c| format!("{s}{}", c as char)))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn glob_agrees_with_the_reference() {
        let patterns = strings(b"ab*", 5);
        let texts = strings(b"ab", 6);
        for p in &patterns {
            for t in &texts {
                assert_eq!(
                    glob_match(p, t),
                    reference(p.as_bytes(), t.as_bytes()),
                    "{p:?} against {t:?}"
                );
            }
        }
    }

    #[test]
    fn glob_is_linear_on_a_pathological_pattern() {
        // Quadratic for a backtracking matcher: every failed attempt at the long run
        // restarts one character further (5 s in a debug build).
        let text = format!("/{}", "a".repeat(60_000));
        let started = std::time::Instant::now();
        for pattern in [
            format!("*{}b", "a".repeat(30_000)),
            format!("{}*b", "*a".repeat(30_000)),
        ] {
            assert!(!glob_match(&pattern, &text));
            assert!(glob_match(&pattern, &format!("{text}b")));
        }
        assert!(
            started.elapsed() < std::time::Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
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
