//! Identifiers in the hosted server's formats.

use super::clock::Timestamp;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// `prefix` + a 26-character ULID (48-bit millisecond time, 80 random bits, Crockford
/// base32), like the hosted `anm_01M88N1MW8Q7ESJ7JDVT54D642`.
pub(crate) fn ulid(prefix: &str, at: Timestamp) -> String {
    let time = (at.unix_millis().max(0) as u128) & ((1 << 48) - 1);
    let random = fastrand::u128(..) & ((1 << 80) - 1);
    let value = (time << 80) | random;
    let mut id = String::with_capacity(prefix.len() + 26);
    id.push_str(prefix);
    for i in 0..26 {
        let shift = 125 - 5 * i;
        id.push(CROCKFORD[((value >> shift) & 31) as usize] as char);
    }
    id
}

/// A random UUID v4 string, the format of `requestId` in error bodies.
pub(crate) fn request_id() -> String {
    let n = fastrand::u128(..);
    // Version 4 and the RFC 4122 variant, as a real UUID v4 has.
    let n = (n & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A fresh API key for a test account: `gx_test_` + 24 random lowercase alphanumerics.
pub(crate) fn random_api_key() -> String {
    let mut key = String::from("gx_test_");
    key.extend(
        std::iter::repeat_with(fastrand::alphanumeric)
            .take(24)
            .map(|c| c.to_ascii_lowercase()),
    );
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulid_shape() {
        let id = ulid(
            "anm_",
            Timestamp::parse_rfc3339("2026-11-25T06:07:19.432Z").unwrap(),
        );
        assert_eq!(id.len(), 30);
        assert!(id.starts_with("anm_01"));
        assert!(id[4..].bytes().all(|c| CROCKFORD.contains(&c)));
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
}
