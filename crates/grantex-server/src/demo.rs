//! The demo seed: activity that trips each detection rule exactly once, matching the
//! captured hosted example (`seed_ag_spike`, `seed_ag_fail`, `seed_ag_new`,
//! `seed_ag_night`), whatever the time of day, plus the already-acknowledged anomaly
//! of the documentation's acknowledge example and the custom rule of its
//! `toggle_rule` example.

use serde_json::json;

use crate::clock::Timestamp;
use crate::records::{
    AnomalyRecord, AuditEntry, AuditRecord, AuditStatus, Finding, Grant, GrantRecord, Metadata,
    RuleRecord,
};
use crate::rules::is_off_hours;

/// The id of the already-acknowledged anomaly in the demo seed: the id that the
/// documentation's acknowledge example uses (`acknowledge("anom_abc123")`), so that
/// the example runs unchanged against a demo server.
pub const DOC_EXAMPLE_ANOMALY_ID: &str = "anom_abc123";

/// The stored id of the custom rule in the demo seed: the id that the
/// documentation's rule examples toggle (`toggle_rule("velocity_spike", enabled=False)`,
/// `PATCH /v1/anomaly/rules/velocity_spike`). The hosted server's PATCH and DELETE take
/// a custom rule's stored id (built-in rules cannot be changed), so the demo account
/// holds a custom rule stored under this id, as it holds [`DOC_EXAMPLE_ANOMALY_ID`].
pub const DOC_EXAMPLE_RULE_ID: &str = "velocity_spike";

const SECOND: i64 = 1000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// The documentation example's anomaly ([`DOC_EXAMPLE_ANOMALY_ID`]): a `rate_spike`
/// detected a day before `now` and acknowledged an hour later.
///
/// It was acknowledged through the legacy route, so its alert status is still `open`:
/// the documentation's alert examples (`list_alerts(status="open")`, then acknowledge
/// and resolve the first) find it in a fresh demo account.
pub(crate) fn doc_example_anomaly(seq: u64, now: Timestamp) -> AnomalyRecord {
    let detected_at = now.plus_millis(-24 * HOUR);
    let mut anomaly = AnomalyRecord::detected(
        seq,
        DOC_EXAMPLE_ANOMALY_ID.to_owned(),
        Finding {
            kind: "rate_spike",
            severity: "high",
            agent_id: Some("seed_ag_spike".to_owned()),
            principal_id: None,
            description:
                "Agent seed_ag_spike performed 60 actions in the last hour (threshold: 50)."
                    .to_owned(),
            metadata: Metadata(vec![
                ("count", 60.into()),
                ("windowHours", 1.into()),
                ("threshold", 50.into()),
            ]),
        },
        detected_at,
    );
    anomaly.acknowledged_at = Some(detected_at.plus_millis(HOUR));
    anomaly
}

/// The documentation example's custom rule ([`DOC_EXAMPLE_RULE_ID`]), worded as the
/// documentation's rule table describes `velocity_spike`, created a day before `now`.
pub(crate) fn doc_example_rule(seq: u64, now: Timestamp) -> RuleRecord {
    RuleRecord {
        seq,
        id: DOC_EXAMPLE_RULE_ID.to_owned(),
        rule_id: DOC_EXAMPLE_RULE_ID.to_owned(),
        name: "Velocity Spike".to_owned(),
        description: Some("Request rate exceeds 3x the rolling 1-hour average".to_owned()),
        condition: json!({"timeWindow": "1h", "threshold": 3}),
        severity: "high".to_owned(),
        alert_channels: Vec::new(),
        enabled: true,
        created_at: now.plus_millis(-24 * HOUR),
    }
}

/// The demo activity as of `now`.
#[derive(Debug, Default)]
pub(crate) struct DemoActivity {
    pub audit: Vec<AuditRecord>,
    pub grants: Vec<GrantRecord>,
}

/// Activity that, at `now`, yields exactly the four anomalies of the hosted example:
/// - `seed_ag_spike`: 55 successful actions within the last hour, all in business
///   hours (between 22:00 and 06:00 UTC the last hour has none, so they are dated at
///   the coming 06:00: the hosted windows have no upper bound);
/// - `seed_ag_fail`: 10 actions in the last 30 minutes, 5 of them failures;
/// - `seed_ag_new`: a grant from `user_new`, 10 minutes ago, the pair's first;
/// - `seed_ag_night`: 12 successful actions between 22:00 and 06:00 UTC within the
///   last 24 hours.
///
/// No agent crosses a second rule's threshold (e.g. 10 fail entries are not more
/// than 10 off-hours entries, whenever they fall).
pub(crate) fn activity(now: Timestamp) -> DemoActivity {
    let mut audit = Vec::with_capacity(55 + 10 + 12);
    let entry = |agent: &str, status: AuditStatus, at: Timestamp| {
        AuditRecord::new(
            AuditEntry::new(agent)
                .principal("user_demo")
                .action("demo.action")
                .status(status)
                .at(at),
            now,
        )
    };

    let business_day_start = now.same_day_at(6, 0);
    for i in 0..55 {
        let at = if is_off_hours(now) {
            let next_six = if now < business_day_start {
                business_day_start
            } else {
                business_day_start.plus_millis(24 * HOUR)
            };
            next_six.plus_millis(i * SECOND)
        } else {
            // Within the last 55 seconds, but not before 06:00 today.
            now.plus_millis(-i * SECOND).max(business_day_start)
        };
        audit.push(entry("seed_ag_spike", AuditStatus::Success, at));
    }

    for i in 0..10 {
        let status = if i % 2 == 0 {
            AuditStatus::Failure
        } else {
            AuditStatus::Success
        };
        audit.push(entry(
            "seed_ag_fail",
            status,
            now.plus_millis(-(i + 1) * 3 * MINUTE),
        ));
    }

    // The newest instant with 11 off-hours minutes before it: now itself when now is
    // at least 11 minutes into the 22:00-06:00 block, else the last 05:59 (at most
    // 16h12m ago).
    let minutes_into_block = (now.minute_of_day() - 22 * 60).rem_euclid(24 * 60);
    let night_end = if (11..8 * 60).contains(&minutes_into_block) {
        now
    } else {
        now.same_day_at(5, 59)
    };
    for i in 0..12 {
        audit.push(entry(
            "seed_ag_night",
            AuditStatus::Success,
            night_end.plus_millis(-i * MINUTE),
        ));
    }

    let grants = vec![GrantRecord::new(
        Grant::new("seed_ag_new", "user_new").issued_at(now.plus_millis(-10 * MINUTE)),
        now,
    )];
    DemoActivity { audit, grants }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules;

    /// At every minute of a day, the demo yields exactly the four wire anomalies.
    #[test]
    fn four_anomalies_at_any_time_of_day() {
        let midnight = Timestamp::parse_rfc3339("2026-11-25T00:00:00.000Z").unwrap();
        for minute in 0..24 * 60 {
            for extra_ms in [0, 30_500, 59_999] {
                let now = midnight.plus_millis(minute * MINUTE + extra_ms);
                let demo = activity(now);
                let audit: Vec<&AuditRecord> = demo.audit.iter().collect();
                let grants: Vec<&GrantRecord> = demo.grants.iter().collect();
                let found = rules::detect(&audit, &grants, now);
                let summary: Vec<(&str, Option<&str>)> = found
                    .iter()
                    .map(|f| (f.kind, f.agent_id.as_deref()))
                    .collect();
                assert_eq!(
                    summary,
                    [
                        ("rate_spike", Some("seed_ag_spike")),
                        ("high_failure_rate", Some("seed_ag_fail")),
                        ("new_principal", Some("seed_ag_new")),
                        ("off_hours_activity", Some("seed_ag_night")),
                    ],
                    "at {now}"
                );
                assert!(found[0].description.contains(" 55 actions"), "at {now}");
                assert!(found[3].description.contains(" 12 actions"), "at {now}");
            }
        }
    }
}
