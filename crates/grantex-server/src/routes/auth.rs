//! Bearer-key authentication.

use axum::http::{header, HeaderMap, StatusCode};

use super::reply::{app_error, payload_too_large, Reply};
use crate::clock::Timestamp;
use crate::shared::Shared;
use crate::store::{Admission, StorageFull};
use crate::sync::lock;

/// How the request authenticated.
pub(super) enum Auth {
    Missing,
    Unknown,
    /// A key the store accepts: the account's key.
    Account(String),
    /// A key whose new account would exceed the server's account limit.
    Full(StorageFull),
}

impl Auth {
    /// The account's key, or the 401 for a missing or unknown key (413 for one more
    /// account than the limit).
    pub fn into_account(self) -> Result<String, Reply> {
        let message = match self {
            Auth::Account(key) => return Ok(key),
            Auth::Unknown => "Invalid API key",
            Auth::Missing => "Missing or invalid Authorization header",
            Auth::Full(full) => return Err(payload_too_large(&full.0)),
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
    let Some(key) = bearer_token(headers) else {
        return Auth::Missing;
    };
    match lock(&shared.store).authenticate(key, now) {
        Admission::Account => Auth::Account(key.to_owned()),
        Admission::Unknown => Auth::Unknown,
        Admission::Full(full) => Auth::Full(full),
    }
}
