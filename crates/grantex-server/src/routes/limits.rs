//! The rate-limit stages of a request and their 429s.

use axum::http::StatusCode;

use super::reply::{app_error, Reply};
use crate::clock::Timestamp;
use crate::ratelimit::{humanize, Decision, Scope};
use crate::shared::Shared;
use crate::sync::lock;

/// Counts the request against the per-IP or a per-route limiter; `Err` is the 429
/// when it is over.
pub(super) fn window_check(
    shared: &Shared,
    scope: Scope,
    key: &str,
    now: Timestamp,
) -> Result<Option<Decision>, Reply> {
    let decision = lock(&shared.limiter).check(scope, key, now);
    match decision {
        Some(d) if !d.allowed => Err(too_many_for_window(d)),
        other => Ok(other),
    }
}

/// 429 from a per-IP or per-route limiter (the hosted framework's rate limiter):
/// `retry-after` is the window length.
fn too_many_for_window(d: Decision) -> Reply {
    let window_secs = d.window.as_secs().max(1);
    app_error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Rate limit exceeded, retry in {}", humanize(d.window)),
        "BAD_REQUEST",
    )
    .rate(Some(Decision {
        reset_secs: window_secs,
        ..d
    }))
    .retry_after(Some(window_secs))
}

/// Counts the request against the account's plan limit; `Err` is the 429 when it is
/// over.
pub(super) fn plan_check(
    shared: &Shared,
    key: &str,
    now: Timestamp,
) -> Result<Option<Decision>, Reply> {
    let decision = lock(&shared.limiter).check(Scope::Plan, key, now);
    match decision {
        Some(d) if !d.allowed => Err(app_error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Plan rate limit exceeded, retry in {} seconds",
                d.reset_secs
            ),
            "RATE_LIMIT_EXCEEDED",
        )
        .rate(Some(d))
        .retry_after(Some(d.reset_secs))),
        other => Ok(other),
    }
}
