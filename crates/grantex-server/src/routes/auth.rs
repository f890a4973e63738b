//! Bearer-key authentication.

use axum::http::{header, HeaderMap, StatusCode};

use super::reply::{app_error, Reply};
use crate::clock::Timestamp;
use crate::shared::Shared;
use crate::sync::lock;

/// How the request authenticated.
pub(super) enum Auth {
    Missing,
    Unknown,
    /// A key the store accepts: the account's key.
    Account(String),
}

impl Auth {
    /// The account's key, or the 401 for a missing or unknown key.
    pub fn into_account(self) -> Result<String, Reply> {
        let message = match self {
            Auth::Account(key) => return Ok(key),
            Auth::Unknown => "Invalid API key",
            Auth::Missing => "Missing or invalid Authorization header",
        };
        Err(app_error(StatusCode::UNAUTHORIZED, message, "UNAUTHORIZED"))
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Checks the bearer key; a key the store accepts gets its account on first use.
pub(super) fn authenticate(shared: &Shared, headers: &HeaderMap, now: Timestamp) -> Auth {
    match bearer_token(headers) {
        None => Auth::Missing,
        Some(key) if lock(&shared.store).authenticate(key, now) => Auth::Account(key.to_owned()),
        Some(_) => Auth::Unknown,
    }
}
