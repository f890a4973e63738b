//! Fixed-window rate limits with the hosted server's numbers and headers.
//!
//! The hosted server stacks three limiters: a per-IP limiter before authentication
//! (5000/min), a per-route override on some routes (30/min on detect, audit log and
//! creating anomaly rules and channels), and after authentication a per-account plan
//! limit (100/min on the free plan).
//! Windows are measured on the server's [`Clock`](crate::Clock), so a test can
//! advance the clock past a window instead of waiting.

use std::collections::HashMap;
use std::time::Duration;

use crate::clock::{duration_millis, Timestamp};

/// One fixed-window limit: at most `max` requests per `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowLimit {
    /// Requests allowed in one window.
    pub max: u32,
    /// Length of the window, which starts at the first request counted in it.
    pub window: Duration,
}

impl WindowLimit {
    /// `max` requests per minute.
    pub const fn per_minute(max: u32) -> Self {
        WindowLimit {
            max,
            window: Duration::from_secs(60),
        }
    }
}

/// The rate limits a server enforces; `None` disables a limiter (and its headers).
///
/// Every response carries `x-ratelimit-limit`, `x-ratelimit-remaining` and
/// `x-ratelimit-reset` (seconds until the window resets) of the last limiter that
/// counted the request: the plan limiter for authenticated requests, the per-IP
/// limiter otherwise. A rejected request gets 429 and `retry-after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Per account, across all routes (hosted free plan: 100/min). Over it: 429
    /// `RATE_LIMIT_EXCEEDED`, "Plan rate limit exceeded, retry in N seconds".
    pub plan: Option<WindowLimit>,
    /// Per account and route, on `POST /v1/anomalies/detect`, `POST /v1/audit/log`,
    /// `POST /v1/anomaly/rules` and `POST /v1/anomaly/channels` (hosted: 30/min each;
    /// the hosted server keys it by client IP, here it is keyed by account and route
    /// so that accounts in one test do not share it). Over it: 429
    /// `BAD_REQUEST`, "Rate limit exceeded, retry in 1 minute", `retry-after` = the
    /// window length.
    pub per_route: Option<WindowLimit>,
    /// Per client IP, before authentication, on every non-test route (hosted:
    /// 5000/min). Its headers are the ones on 401s and other unauthenticated answers.
    pub per_ip: Option<WindowLimit>,
}

impl RateLimits {
    /// The hosted server's limits: plan 100/min, the per-route limit 30/min, per IP
    /// 5000/min. This is `RateLimits::default()`.
    pub const fn hosted() -> Self {
        RateLimits {
            plan: Some(WindowLimit::per_minute(100)),
            per_route: Some(WindowLimit::per_minute(30)),
            per_ip: Some(WindowLimit::per_minute(5000)),
        }
    }

    /// Limits high enough (one million per minute each) that no test suite trips
    /// them, with the headers still sent and counting. The default of
    /// [`TestServer::builder`](crate::TestServer::builder) and of demo mode.
    pub const fn generous() -> Self {
        RateLimits {
            plan: Some(WindowLimit::per_minute(1_000_000)),
            per_route: Some(WindowLimit::per_minute(1_000_000)),
            per_ip: Some(WindowLimit::per_minute(1_000_000)),
        }
    }

    /// No limits and no rate-limit headers at all.
    pub const fn disabled() -> Self {
        RateLimits {
            plan: None,
            per_route: None,
            per_ip: None,
        }
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits::hosted()
    }
}

/// Which limiter a window belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    Ip,
    Plan,
    Route(&'static str),
}

/// The outcome of counting one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Whole seconds until the window resets (rounded up).
    pub reset_secs: u64,
    pub window: Duration,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start: Timestamp,
    count: u32,
}

/// The counters of all limiters of one server.
#[derive(Debug)]
pub(crate) struct Limiter {
    config: RateLimits,
    windows: HashMap<(Scope, String), Window>,
}

impl Limiter {
    pub fn new(config: RateLimits) -> Self {
        Limiter {
            config,
            windows: HashMap::new(),
        }
    }

    /// Replaces the limits; counts so far are forgotten.
    pub fn reconfigure(&mut self, config: RateLimits) {
        self.config = config;
        self.windows.clear();
    }

    /// Counts one request against `scope`'s limiter for `key`; `None` when that
    /// limiter is disabled.
    pub fn check(&mut self, scope: Scope, key: &str, now: Timestamp) -> Option<Decision> {
        let limit = match scope {
            Scope::Ip => self.config.per_ip,
            Scope::Plan => self.config.plan,
            Scope::Route(_) => self.config.per_route,
        }?;
        let window_ms = duration_millis(limit.window).max(1);
        if self.windows.len() > 10_000 {
            // Forget expired windows so that accept-any-key servers stay small.
            self.windows.retain(|_, w| {
                now >= w.start && now.unix_millis() - w.start.unix_millis() < window_ms
            });
        }
        let window = self
            .windows
            .entry((scope, key.to_owned()))
            .or_insert(Window {
                start: now,
                count: 0,
            });
        let elapsed = now.unix_millis() - window.start.unix_millis();
        // A clock moved back before the window start also opens a fresh window.
        if !(0..window_ms).contains(&elapsed) {
            *window = Window {
                start: now,
                count: 0,
            };
        }
        window.count = window.count.saturating_add(1);
        let left_ms = window_ms - (now.unix_millis() - window.start.unix_millis());
        Some(Decision {
            allowed: window.count <= limit.max,
            limit: limit.max,
            remaining: limit.max.saturating_sub(window.count),
            reset_secs: (left_ms as u64).div_ceil(1000),
            window: limit.window,
        })
    }
}

/// A window length the way the hosted framework words it: "1 minute", "30 seconds".
pub(crate) fn humanize(window: Duration) -> String {
    let secs = window.as_secs();
    let (n, unit) = if secs >= 3600 && secs.is_multiple_of(3600) {
        (secs / 3600, "hour")
    } else if secs >= 60 && secs.is_multiple_of(60) {
        (secs / 60, "minute")
    } else if secs >= 1 {
        (secs, "second")
    } else {
        return format!("{} ms", window.as_millis());
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_counts_and_resets() {
        let mut limiter = Limiter::new(RateLimits {
            plan: Some(WindowLimit::per_minute(2)),
            per_route: None,
            per_ip: None,
        });
        let t0 = Timestamp::from_unix_millis(1_000_000);
        let a = limiter.check(Scope::Plan, "k", t0).unwrap();
        assert!(a.allowed && a.remaining == 1 && a.reset_secs == 60);
        let b = limiter
            .check(Scope::Plan, "k", t0.plus_millis(20_500))
            .unwrap();
        assert!(b.allowed && b.remaining == 0 && b.reset_secs == 40);
        let c = limiter
            .check(Scope::Plan, "k", t0.plus_millis(30_000))
            .unwrap();
        assert!(!c.allowed && c.reset_secs == 30);
        assert!(limiter.check(Scope::Plan, "other", t0).unwrap().allowed);
        let d = limiter
            .check(Scope::Plan, "k", t0.plus_millis(60_000))
            .unwrap();
        assert!(d.allowed && d.remaining == 1);
        assert!(limiter.check(Scope::Ip, "k", t0).is_none());
    }

    #[test]
    fn humanized_windows() {
        assert_eq!(humanize(Duration::from_secs(60)), "1 minute");
        assert_eq!(humanize(Duration::from_secs(120)), "2 minutes");
        assert_eq!(humanize(Duration::from_secs(30)), "30 seconds");
        assert_eq!(humanize(Duration::from_secs(3600)), "1 hour");
    }
}
