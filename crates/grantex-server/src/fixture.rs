//! JSON fixtures: audit entries and grants to load into one account.
//!
//! ```json
//! {
//!   "auditEntries": [
//!     {"agentId": "ag_1", "status": "failure", "timestamp": "now-5m", "repeat": 3},
//!     {"agentId": "ag_2", "principalId": "user_1", "action": "email.send",
//!      "timestamp": "2026-11-25T05:00:00.000Z"}
//!   ],
//!   "grants": [{"agentId": "ag_1", "principalId": "user_9", "issuedAt": "now-1h"}]
//! }
//! ```
//!
//! Only `agentId` (and `principalId` for grants) is required; the other audit fields
//! default as in [`AuditEntry::new`]. Times are RFC 3339 or relative to the server
//! clock: `now`, `now-90s`, `now-5m`, `now+2h`, `now-1d` (units `ms`, `s`, `m`, `h`,
//! `d`); omitted means now. `repeat` records the same entry that many times.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::records::{AuditEntry, AuditRecord, AuditStatus, Grant, GrantRecord, StoredSize};
use crate::store::{StorageLimits, Store};

/// Why a fixture could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("invalid fixture: {0}")]
pub struct FixtureError(pub(crate) String);

/// What a fixture added to an account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixtureSummary {
    /// Audit entries recorded (after `repeat`).
    pub audit_entries: usize,
    /// Grants recorded.
    pub grants: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    audit_entries: Vec<FixtureAudit>,
    #[serde(default)]
    grants: Vec<FixtureGrant>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureAudit {
    agent_id: String,
    agent_did: Option<String>,
    grant_id: Option<String>,
    principal_id: Option<String>,
    action: Option<String>,
    metadata: Option<Map<String, Value>>,
    status: Option<String>,
    timestamp: Option<String>,
    repeat: Option<usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FixtureGrant {
    agent_id: String,
    principal_id: String,
    issued_at: Option<String>,
}

/// Parses `fixture` and records it for the account of `api_key`, all or nothing: the one
/// path of [`TestServer::load_fixture`](crate::TestServer::load_fixture) and of
/// `POST /v1/test/fixture`.
pub(crate) fn load(
    store: &mut Store,
    api_key: &str,
    fixture: &Value,
    now: Timestamp,
) -> Result<FixtureSummary, FixtureError> {
    let account = store.account(api_key, now);
    let (audit, grants) = parse(fixture, now, account.limits())?;
    let summary = FixtureSummary {
        audit_entries: audit.len(),
        grants: grants.len(),
    };
    // Within the account's limits, the earliest entries (older ones first) are dropped.
    for entry in audit {
        account.record_audit(AuditRecord::new(entry, now));
    }
    for grant in grants {
        account.record_grant(GrantRecord::new(grant, now));
    }
    Ok(summary)
}

/// A fixture turned into records, times resolved against `now`. Its audit entries,
/// after `repeat`, must fit in the account's audit limits (checked before they are
/// expanded).
pub(crate) fn parse(
    fixture: &Value,
    now: Timestamp,
    limits: &StorageLimits,
) -> Result<(Vec<AuditEntry>, Vec<Grant>), FixtureError> {
    let file = FixtureFile::deserialize(fixture).map_err(|e| FixtureError(e.to_string()))?;
    let mut audit = Vec::new();
    let (mut total_entries, mut total_bytes) = (0usize, 0usize);
    for (i, a) in file.audit_entries.into_iter().enumerate() {
        let at = |what: &str| FixtureError(format!("auditEntries[{i}]: {what}"));
        let mut entry = AuditEntry::new(a.agent_id);
        if let Some(v) = a.agent_did {
            entry.agent_did = v;
        }
        if let Some(v) = a.grant_id {
            entry.grant_id = v;
        }
        if let Some(v) = a.principal_id {
            entry.principal_id = v;
        }
        if let Some(v) = a.action {
            entry.action = v;
        }
        if let Some(v) = a.metadata {
            entry.metadata = v;
        }
        if let Some(s) = a.status {
            entry.status = AuditStatus::parse(&s)
                .ok_or_else(|| at("status must be success, failure, or blocked"))?;
        }
        entry.timestamp = Some(match a.timestamp {
            Some(t) => parse_time(&t, now).map_err(|e| at(&e))?,
            None => now,
        });
        let repeat = a.repeat.unwrap_or(1);
        if repeat > 100_000 {
            return Err(at("repeat is at most 100000"));
        }
        total_entries += repeat;
        total_bytes = total_bytes.saturating_add(
            AuditRecord::new(entry.clone(), now)
                .stored_size()
                .saturating_mul(repeat),
        );
        if total_entries > limits.audit_entries {
            return Err(at(&format!(
                "more than {} audit entries in all (the account's limit)",
                limits.audit_entries
            )));
        }
        if total_bytes > limits.collection_bytes {
            return Err(at(&format!(
                "more than {} bytes of audit entries in all (the account's limit)",
                limits.collection_bytes
            )));
        }
        audit.extend(std::iter::repeat_n(entry, repeat));
    }
    let mut grants = Vec::new();
    for (i, g) in file.grants.into_iter().enumerate() {
        let issued_at = match g.issued_at {
            Some(t) => {
                parse_time(&t, now).map_err(|e| FixtureError(format!("grants[{i}]: {e}")))?
            }
            None => now,
        };
        grants.push(Grant::new(g.agent_id, g.principal_id).issued_at(issued_at));
    }
    Ok((audit, grants))
}

/// RFC 3339, or `now[±N(ms|s|m|h|d)]` relative to `now`: the times of fixtures,
/// `POST /v1/audit/log` and `POST /v1/test/grants`.
pub(crate) fn parse_time(spec: &str, now: Timestamp) -> Result<Timestamp, String> {
    let Some(rest) = spec.strip_prefix("now") else {
        return Timestamp::parse_rfc3339(spec).map_err(|e| e.to_string());
    };
    if rest.is_empty() {
        return Ok(now);
    }
    let bad = || format!("invalid relative time {spec:?} (expected e.g. now-5m)");
    let (sign, amount) = match rest.as_bytes()[0] {
        b'-' => (-1, &rest[1..]),
        b'+' => (1, &rest[1..]),
        _ => return Err(bad()),
    };
    let split = amount.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (digits, unit) = amount.split_at(split);
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(bad()),
    };
    Ok(now.plus_millis(sign * n.saturating_mul(unit_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relative_times() {
        let now = Timestamp::parse_rfc3339("2026-11-25T06:00:00.000Z").unwrap();
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(
            parse_time("now-5m", now).unwrap().to_string(),
            "2026-11-25T05:55:00.000Z"
        );
        assert_eq!(
            parse_time("now+1d", now).unwrap().to_string(),
            "2026-11-26T06:00:00.000Z"
        );
        assert!(parse_time("now-5", now).is_err());
        assert!(parse_time("now*5m", now).is_err());
        assert!(parse_time("yesterday", now).is_err());
    }

    #[test]
    fn parses_fixture() {
        let now = Timestamp::parse_rfc3339("2026-11-25T06:00:00.000Z").unwrap();
        let limits = StorageLimits::default();
        let (audit, grants) = parse(
            &json!({
                "auditEntries": [{"agentId": "a", "status": "blocked", "repeat": 3, "timestamp": "now-1h"}],
                "grants": [{"agentId": "a", "principalId": "p"}]
            }),
            now,
            &limits,
        )
        .unwrap();
        assert_eq!(audit.len(), 3);
        assert_eq!(audit[0].status, AuditStatus::Blocked);
        assert_eq!(
            audit[0].timestamp.unwrap().to_string(),
            "2026-11-25T05:00:00.000Z"
        );
        assert_eq!(grants[0].issued_at, Some(now));
        assert!(parse(
            &json!({"auditEntries": [{"status": "failure"}]}),
            now,
            &limits
        )
        .is_err());
        assert!(parse(
            &json!({"auditEntries": [{"agentId": "a", "status": "odd"}]}),
            now,
            &limits
        )
        .is_err());
        assert!(parse(&json!({"grantz": []}), now, &limits).is_err());
        // Repeats are counted against the audit limits before they are expanded.
        let small = StorageLimits {
            audit_entries: 5,
            ..limits
        };
        let entries =
            json!({"auditEntries": [{"agentId": "a", "repeat": 3}, {"agentId": "b", "repeat": 3}]});
        let err = parse(&entries, now, &small).unwrap_err();
        assert!(
            err.to_string().contains("more than 5 audit entries"),
            "{err}"
        );
        assert_eq!(parse(&entries, now, &limits).unwrap().0.len(), 6);
        let big = json!({"auditEntries": [{"agentId": "a", "metadata": {"x": "y".repeat(1000)}, "repeat": 100_000}]});
        let err = parse(&big, now, &limits).unwrap_err();
        assert!(err.to_string().contains("bytes of audit entries"), "{err}");
    }
}
