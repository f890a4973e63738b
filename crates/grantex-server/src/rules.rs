//! The hosted server's four anomaly-detection rules.
//!
//! Thresholds, windows, severities, descriptions and metadata are word for word the
//! hosted ones. Windows are inclusive at their start (`timestamp >= now - window`)
//! and, as on the hosted server, have no upper bound.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::clock::Timestamp;
use crate::records::{AuditRecord, Finding, GrantRecord, Metadata};

/// `rate_spike` fires for an agent with more than this many entries in the last hour.
pub const RATE_SPIKE_THRESHOLD: u64 = 50;
/// `high_failure_rate` needs at least this many entries in 24 hours...
pub const FAILURE_MIN_ENTRIES: u64 = 5;
/// ...of which more than this fraction are `failure` or `blocked`.
pub const FAILURE_RATE_THRESHOLD: f64 = 0.2;
/// `off_hours_activity` fires for an agent with more than this many entries between
/// 22:00 and 06:00 UTC in the last 24 hours.
pub const OFF_HOURS_THRESHOLD: u64 = 10;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// Whether `at` falls between 22:00 and 06:00 UTC.
pub(crate) fn is_off_hours(at: Timestamp) -> bool {
    !(6..22).contains(&at.hour())
}

/// All findings for an account's data at `now`, in the hosted order: rate spikes,
/// high failure rates, new principals, off-hours activity (each by agent id).
pub(crate) fn detect(
    audit: &[&AuditRecord],
    grants: &[&GrantRecord],
    now: Timestamp,
) -> Vec<Finding> {
    let mut findings = rate_spikes(audit, now);
    findings.extend(high_failure_rates(audit, now));
    findings.extend(new_principals(grants, now));
    findings.extend(off_hours_activity(audit, now));
    findings
}

fn since(now: Timestamp, window_ms: i64) -> Timestamp {
    now.plus_millis(-window_ms)
}

fn count_by_agent<'a>(entries: impl Iterator<Item = &'a AuditRecord>) -> BTreeMap<&'a str, u64> {
    let mut counts = BTreeMap::new();
    for e in entries {
        *counts.entry(e.agent_id.as_str()).or_insert(0) += 1;
    }
    counts
}

fn rate_spikes(audit: &[&AuditRecord], now: Timestamp) -> Vec<Finding> {
    let start = since(now, HOUR_MS);
    count_by_agent(audit.iter().copied().filter(|e| e.timestamp >= start))
        .into_iter()
        .filter(|&(_, count)| count > RATE_SPIKE_THRESHOLD)
        .map(|(agent, count)| Finding {
            kind: "rate_spike",
            severity: "high",
            agent_id: Some(agent.to_owned()),
            principal_id: None,
            description: format!(
                "Agent {agent} performed {count} actions in the last hour (threshold: 50)."
            ),
            metadata: Metadata(vec![
                ("count", json!(count)),
                ("windowHours", json!(1)),
                ("threshold", json!(50)),
            ]),
        })
        .collect()
}

fn high_failure_rates(audit: &[&AuditRecord], now: Timestamp) -> Vec<Finding> {
    let start = since(now, DAY_MS);
    let mut tallies: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for e in audit.iter().filter(|e| e.timestamp >= start) {
        let (bad, total) = tallies.entry(e.agent_id.as_str()).or_insert((0, 0));
        *total += 1;
        *bad += u64::from(e.status.is_bad());
    }
    tallies
        .into_iter()
        // bad / total > 0.2, in integers: 5 * bad > total.
        .filter(|&(_, (bad, total))| total >= FAILURE_MIN_ENTRIES && 5 * bad > total)
        .map(|(agent, (bad, total))| {
            // JavaScript's Math.round: halves round up.
            let pct = (200 * bad + total) / (2 * total);
            Finding {
                kind: "high_failure_rate",
                severity: "medium",
                agent_id: Some(agent.to_owned()),
                principal_id: None,
                description: format!(
                    "Agent {agent} has {pct}% failure/blocked rate over the last 24 hours ({bad}/{total})."
                ),
                metadata: Metadata(vec![
                    ("badCount", json!(bad)),
                    ("totalCount", json!(total)),
                    ("percentFailure", json!(pct)),
                    ("windowHours", json!(24)),
                    ("threshold", json!(FAILURE_RATE_THRESHOLD)),
                ]),
            }
        })
        .collect()
}

fn new_principals(grants: &[&GrantRecord], now: Timestamp) -> Vec<Finding> {
    let start = since(now, DAY_MS);
    // A grant is new when no grant of the same agent and principal was issued before
    // it: when it was issued at the pair's first issue time. (One pass to find those
    // times, not a scan of all grants per grant: the server holds the store's lock
    // while detecting.)
    let mut first_issued: HashMap<(&str, &str), Timestamp> = HashMap::new();
    for g in grants {
        first_issued
            .entry((g.agent_id.as_str(), g.principal_id.as_str()))
            .and_modify(|first| *first = (*first).min(g.issued_at))
            .or_insert(g.issued_at);
    }
    let mut fresh: Vec<&GrantRecord> = grants
        .iter()
        .copied()
        .filter(|g| g.issued_at >= start)
        .filter(|g| {
            first_issued.get(&(g.agent_id.as_str(), g.principal_id.as_str())) == Some(&g.issued_at)
        })
        .collect();
    fresh.sort_by(|a, b| {
        (&a.agent_id, &a.principal_id, a.issued_at).cmp(&(
            &b.agent_id,
            &b.principal_id,
            b.issued_at,
        ))
    });
    fresh
        .into_iter()
        .map(|g| Finding {
            kind: "new_principal",
            severity: "low",
            agent_id: Some(g.agent_id.clone()),
            principal_id: Some(g.principal_id.clone()),
            description: format!(
                "Agent {} received a grant from previously-unseen principal {}.",
                g.agent_id, g.principal_id
            ),
            metadata: Metadata(vec![("windowHours", json!(24))]),
        })
        .collect()
}

fn off_hours_activity(audit: &[&AuditRecord], now: Timestamp) -> Vec<Finding> {
    let start = since(now, DAY_MS);
    count_by_agent(
        audit
            .iter()
            .copied()
            .filter(|e| e.timestamp >= start && is_off_hours(e.timestamp)),
    )
    .into_iter()
    .filter(|&(_, count)| count > OFF_HOURS_THRESHOLD)
    .map(|(agent, count)| Finding {
        kind: "off_hours_activity",
        severity: "low",
        agent_id: Some(agent.to_owned()),
        principal_id: None,
        description: format!(
            "Agent {agent} performed {count} actions outside business hours (22:00\u{2013}06:00 UTC) in the last 24 hours."
        ),
        metadata: Metadata(vec![
            ("count", json!(count)),
            ("windowHours", json!(24)),
            ("threshold", Value::from(10)),
        ]),
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{AuditEntry, AuditStatus};

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn failure_percent_rounds_like_javascript() {
        let now = at("2026-11-25T12:00:00.000Z");
        let entries: Vec<AuditRecord> = (0..8)
            .map(|i| {
                let status = if i < 2 {
                    AuditStatus::Failure
                } else {
                    AuditStatus::Success
                };
                AuditRecord::new(AuditEntry::new("a").status(status), now)
            })
            .collect();
        let refs: Vec<&AuditRecord> = entries.iter().collect();
        let found = high_failure_rates(&refs, now);
        assert_eq!(found.len(), 1);
        // 2/8 = 25%.
        assert!(found[0]
            .description
            .contains("has 25% failure/blocked rate"));
        let entries: Vec<AuditRecord> = (0..16)
            .map(|i| {
                let status = if i < 4 {
                    AuditStatus::Blocked
                } else {
                    AuditStatus::Success
                };
                AuditRecord::new(AuditEntry::new("a").status(status), now)
            })
            .chain([AuditRecord::new(
                AuditEntry::new("a").status(AuditStatus::Failure),
                now,
            )])
            .collect();
        let refs: Vec<&AuditRecord> = entries.iter().collect();
        // 5/17 = 29.41% -> 29.
        assert!(high_failure_rates(&refs, now)[0]
            .description
            .contains("29%"));
    }
}
