//! Accounts and what they hold: audit entries, grants and anomalies.

use std::collections::{HashMap, HashSet};

use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{Map, Value};

use super::clock::Timestamp;
use super::ids;

/// Outcome of an audited action, as the hosted API spells it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AuditStatus {
    /// `success` (the default).
    #[default]
    Success,
    /// `failure`: counts towards `high_failure_rate`.
    Failure,
    /// `blocked`: counts towards `high_failure_rate`.
    Blocked,
}

impl AuditStatus {
    /// The wire spelling: `success`, `failure` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditStatus::Success => "success",
            AuditStatus::Failure => "failure",
            AuditStatus::Blocked => "blocked",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(AuditStatus::Success),
            "failure" => Some(AuditStatus::Failure),
            "blocked" => Some(AuditStatus::Blocked),
            _ => None,
        }
    }

    pub(crate) fn is_bad(self) -> bool {
        self != AuditStatus::Success
    }
}

/// One audit-log entry to record: an action an agent took for a principal.
///
/// Only `agent_id`, `status` and `timestamp` matter to the detection rules; the
/// other fields are kept and echoed like the hosted `POST /v1/audit/log` does.
///
/// ```
/// use grantex_server::{AuditEntry, AuditStatus, Timestamp};
/// let entry = AuditEntry::new("ag_1")
///     .status(AuditStatus::Failure)
///     .at(Timestamp::parse_rfc3339("2026-11-25T05:00:00.000Z").unwrap());
/// # let _ = entry;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// The acting agent.
    pub agent_id: String,
    /// The agent's DID (default `did:grantex:<agent_id>`).
    pub agent_did: String,
    /// The grant the action ran under (default `grnt_test`).
    pub grant_id: String,
    /// The principal the action was for (default `user_test`).
    pub principal_id: String,
    /// What was done (default `test.action`).
    pub action: String,
    /// Free-form details (default empty).
    pub metadata: Map<String, Value>,
    /// How it went (default success).
    pub status: AuditStatus,
    /// When it happened; `None` records the server clock's now.
    pub timestamp: Option<Timestamp>,
}

impl AuditEntry {
    /// A successful entry for `agent_id`, at the server clock's now, with defaults for
    /// the fields the rules do not read.
    pub fn new(agent_id: impl Into<String>) -> Self {
        let agent_id = agent_id.into();
        AuditEntry {
            agent_did: format!("did:grantex:{agent_id}"),
            agent_id,
            grant_id: "grnt_test".to_owned(),
            principal_id: "user_test".to_owned(),
            action: "test.action".to_owned(),
            metadata: Map::new(),
            status: AuditStatus::Success,
            timestamp: None,
        }
    }

    /// With this status.
    pub fn status(mut self, status: AuditStatus) -> Self {
        self.status = status;
        self
    }

    /// At this instant instead of the clock's now.
    pub fn at(mut self, timestamp: Timestamp) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// For this principal.
    pub fn principal(mut self, principal_id: impl Into<String>) -> Self {
        self.principal_id = principal_id.into();
        self
    }

    /// With this action name.
    pub fn action(mut self, action: impl Into<String>) -> Self {
        self.action = action.into();
        self
    }
}

/// A grant issued by a principal to an agent; the `new_principal` rule reads these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The agent that received the grant.
    pub agent_id: String,
    /// The principal that issued it.
    pub principal_id: String,
    /// When it was issued; `None` records the server clock's now.
    pub issued_at: Option<Timestamp>,
}

impl Grant {
    /// A grant from `principal_id` to `agent_id`, issued at the server clock's now.
    pub fn new(agent_id: impl Into<String>, principal_id: impl Into<String>) -> Self {
        Grant {
            agent_id: agent_id.into(),
            principal_id: principal_id.into(),
            issued_at: None,
        }
    }

    /// Issued at this instant instead of the clock's now.
    pub fn issued_at(mut self, at: Timestamp) -> Self {
        self.issued_at = Some(at);
        self
    }
}

/// An anomaly as stored by the server (a snapshot; see
/// [`TestServer::anomalies`](super::TestServer::anomalies)).
#[derive(Clone, Debug, PartialEq)]
pub struct Anomaly {
    /// `anm_` + ULID.
    pub id: String,
    /// The wire's `type`: `rate_spike`, `high_failure_rate`, `new_principal` or
    /// `off_hours_activity`.
    pub kind: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    /// The agent involved.
    pub agent_id: Option<String>,
    /// The principal involved (`new_principal` only).
    pub principal_id: Option<String>,
    /// Human-readable description, word for word as the hosted server writes it.
    pub description: String,
    /// The rule's numbers, e.g. `{"count": 55, "windowHours": 1, "threshold": 50}`.
    pub metadata: Map<String, Value>,
    /// When the detection run that produced it happened.
    pub detected_at: Timestamp,
    /// When it was last acknowledged.
    pub acknowledged_at: Option<Timestamp>,
}

/// Metadata whose keys keep the order the hosted server writes them in (a
/// `serde_json::Map` would sort them).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Metadata(pub Vec<(&'static str, Value)>);

impl Serialize for Metadata {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Metadata {
    /// The JSON text, as list and acknowledge responses carry it (a string).
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[derive(Clone, Debug)]
pub(crate) struct StoredAudit {
    pub id: String,
    pub agent_id: String,
    pub agent_did: String,
    pub grant_id: String,
    pub principal_id: String,
    pub action: String,
    pub metadata: Map<String, Value>,
    pub status: AuditStatus,
    pub timestamp: Timestamp,
}

impl StoredAudit {
    pub fn new(entry: AuditEntry, now: Timestamp) -> Self {
        let timestamp = entry.timestamp.unwrap_or(now);
        StoredAudit {
            id: ids::ulid("alog_", timestamp),
            agent_id: entry.agent_id,
            agent_did: entry.agent_did,
            grant_id: entry.grant_id,
            principal_id: entry.principal_id,
            action: entry.action,
            metadata: entry.metadata,
            status: entry.status,
            timestamp,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct StoredGrant {
    pub id: String,
    pub agent_id: String,
    pub principal_id: String,
    pub issued_at: Timestamp,
}

impl StoredGrant {
    pub fn new(grant: Grant, now: Timestamp) -> Self {
        let issued_at = grant.issued_at.unwrap_or(now);
        StoredGrant {
            id: ids::ulid("grnt_", issued_at),
            agent_id: grant.agent_id,
            principal_id: grant.principal_id,
            issued_at,
        }
    }
}

/// What a detection rule found (before it gets an id and a detection time).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Finding {
    pub kind: &'static str,
    pub severity: &'static str,
    pub agent_id: Option<String>,
    pub principal_id: Option<String>,
    pub description: String,
    pub metadata: Metadata,
}

#[derive(Clone, Debug)]
pub(crate) struct StoredAnomaly {
    /// Insertion order, to break ties between equal `detected_at` (newest first).
    pub seq: u64,
    pub id: String,
    pub finding: Finding,
    pub detected_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
}

impl StoredAnomaly {
    pub fn snapshot(&self) -> Anomaly {
        let metadata = match serde_json::to_value(&self.finding.metadata) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        Anomaly {
            id: self.id.clone(),
            kind: self.finding.kind.to_owned(),
            severity: self.finding.severity.to_owned(),
            agent_id: self.finding.agent_id.clone(),
            principal_id: self.finding.principal_id.clone(),
            description: self.finding.description.clone(),
            metadata,
            detected_at: self.detected_at,
            acknowledged_at: self.acknowledged_at,
        }
    }
}

/// One API key's data. Accounts never see each other's data.
#[derive(Debug, Default)]
pub(crate) struct Account {
    pub audit: Vec<StoredAudit>,
    pub grants: Vec<StoredGrant>,
    pub anomalies: Vec<StoredAnomaly>,
    /// Demo activity is regenerated relative to the clock at every detection run
    /// (see `demo.rs`), so that a long-running demo server never goes stale.
    pub demo_activity: bool,
}

impl Account {
    /// Anomalies newest `detected_at` first (later insertions first on ties).
    pub fn anomalies_newest_first(&self, unacknowledged_only: bool) -> Vec<&StoredAnomaly> {
        let mut list: Vec<&StoredAnomaly> = self
            .anomalies
            .iter()
            .filter(|a| !unacknowledged_only || a.acknowledged_at.is_none())
            .collect();
        list.sort_by_key(|a| std::cmp::Reverse((a.detected_at, a.seq)));
        list
    }
}

/// Who may call the API, and every account's data.
#[derive(Debug)]
pub(crate) struct Store {
    known_keys: HashSet<String>,
    accounts: HashMap<String, Account>,
    /// Any non-empty key is accepted and becomes its own account.
    pub accept_any_key: bool,
    /// New accounts get the demo seed on first use.
    pub seed_demo_on_first_use: bool,
    next_seq: u64,
}

impl Store {
    pub fn new(
        keys: impl IntoIterator<Item = String>,
        accept_any_key: bool,
        seed_demo: bool,
    ) -> Self {
        Store {
            known_keys: keys.into_iter().collect(),
            accounts: HashMap::new(),
            accept_any_key,
            seed_demo_on_first_use: seed_demo,
            next_seq: 0,
        }
    }

    pub fn add_key(&mut self, key: String) {
        self.known_keys.insert(key);
    }

    /// Whether `key` may call the API (creating its account on first use).
    pub fn authenticate(&mut self, key: &str, now: Timestamp) -> bool {
        if key.is_empty() || !(self.accept_any_key || self.known_keys.contains(key)) {
            return false;
        }
        self.account(key, now);
        true
    }

    /// The account of `key`, created (and, in demo mode, seeded) on first use. The key
    /// becomes a known key.
    pub fn account(&mut self, key: &str, now: Timestamp) -> &mut Account {
        if !self.accounts.contains_key(key) {
            self.known_keys.insert(key.to_owned());
            let mut account = Account::default();
            if self.seed_demo_on_first_use {
                super::demo::seed(&mut account, &mut self.next_seq, now);
            }
            self.accounts.insert(key.to_owned(), account);
        }
        self.accounts
            .get_mut(key)
            .expect("account was just ensured")
    }

    /// Seeds the demo activity into `key`'s account.
    pub fn seed_demo(&mut self, key: &str, now: Timestamp) {
        let mut seq = self.next_seq;
        super::demo::seed(self.account(key, now), &mut seq, now);
        self.next_seq = seq;
    }

    /// Runs detection for `key`'s account: unacknowledged anomalies are replaced by the
    /// new findings (new ids); acknowledged ones stay. Returns the new anomalies in
    /// rule order.
    pub fn detect(&mut self, key: &str, now: Timestamp) -> Vec<StoredAnomaly> {
        let mut seq = self.next_seq;
        let account = self.account(key, now);
        let demo = if account.demo_activity {
            super::demo::activity(now)
        } else {
            Default::default()
        };
        let audit: Vec<&StoredAudit> = account.audit.iter().chain(&demo.audit).collect();
        let grants: Vec<&StoredGrant> = account.grants.iter().chain(&demo.grants).collect();
        let findings = super::rules::detect(&audit, &grants, now);
        account.anomalies.retain(|a| a.acknowledged_at.is_some());
        let fresh: Vec<StoredAnomaly> = findings
            .into_iter()
            .map(|finding| {
                seq += 1;
                StoredAnomaly {
                    seq,
                    id: ids::ulid("anm_", now),
                    finding,
                    detected_at: now,
                    acknowledged_at: None,
                }
            })
            .collect();
        account.anomalies.extend(fresh.iter().cloned());
        self.next_seq = seq;
        fresh
    }

    /// A read-only view of an existing account.
    pub fn existing(&self, key: &str) -> Option<&Account> {
        self.accounts.get(key)
    }
}
