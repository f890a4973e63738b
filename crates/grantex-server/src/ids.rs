//! Identifiers in the hosted server's formats.

use rand::distr::Alphanumeric;
use rand::RngExt;
use ulid::Ulid;

use crate::clock::Timestamp;

/// `prefix` + a 26-character ULID (48-bit millisecond time of `at`, 80 random bits,
/// Crockford base32), like the hosted `anm_01M88N1MW8Q7ESJ7JDVT54D642`.
pub(crate) fn ulid(prefix: &str, at: Timestamp) -> String {
    format!("{prefix}{}", Ulid::from_datetime(at.into()))
}

/// A random UUID v4 string, the format of `requestId` in error bodies.
pub(crate) fn request_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// A fresh API key for a test account: `gx_test_` + 24 random lowercase alphanumerics.
pub(crate) fn random_api_key() -> String {
    let random = rand::rng()
        .sample_iter(Alphanumeric)
        .take(24)
        .map(|b| char::from(b.to_ascii_lowercase()));
    "gx_test_".chars().chain(random).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    #[test]
    fn ulid_shape() {
        let at = Timestamp::parse_rfc3339("2026-11-25T06:07:19.432Z").unwrap();
        let id = ulid("anm_", at);
        assert_eq!(id.len(), 30);
        assert!(id.starts_with("anm_01"));
        assert!(id[4..].bytes().all(|c| CROCKFORD.contains(&c)));
        let decoded = Ulid::from_string(&id[4..]).unwrap();
        assert_eq!(decoded.timestamp_ms(), at.unix_millis() as u64);
        // Before 1970 the time part is zero.
        assert!(ulid("alog_", Timestamp::from_unix_millis(-5)).starts_with("alog_0000000000"));
    }

    #[test]
    fn request_id_shape() {
        let id = request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn api_key_shape() {
        let key = random_api_key();
        assert_eq!(key.len(), 8 + 24);
        assert!(key.starts_with("gx_test_"));
        assert!(key[8..]
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
        assert_ne!(key, random_api_key());
    }
}
