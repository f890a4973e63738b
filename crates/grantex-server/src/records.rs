//! What an account holds: audit entries, grants and anomalies, in the form callers
//! give them ([`AuditEntry`], [`Grant`]), the form the server keeps them in
//! (`*Record`, with ids and resolved times) and the snapshots it hands out
//! ([`StoredAnomaly`], [`StoredGrant`]); plus the account's custom detection rules,
//! notification channels and irregularity [`ResponseMode`].

use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::ids;

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

/// A snapshot of an anomaly the server stored (see
/// [`TestServer::anomalies`](crate::TestServer::anomalies)).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredAnomaly {
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
    /// When it was last acknowledged (by either acknowledge route).
    pub acknowledged_at: Option<Timestamp>,
    /// The alert status: `open`, `acknowledged` or `resolved`. Only the alert routes
    /// change it; the legacy acknowledge leaves it `open`.
    pub status: String,
    /// The custom rule that raised it; `None` for the four detection rules.
    pub rule_id: Option<String>,
    /// When it was last resolved.
    pub resolved_at: Option<Timestamp>,
    /// The last note given to the alert acknowledge or resolve route (never returned
    /// over HTTP).
    pub note: Option<String>,
}

/// A snapshot of a grant the server stored (see
/// [`TestServer::grants`](crate::TestServer::grants)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGrant {
    /// `grnt_` + ULID.
    pub id: String,
    /// The agent that received the grant.
    pub agent_id: String,
    /// The principal that issued it.
    pub principal_id: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When detection revoked it (`revoke_agent_grants` mode); `None` while active.
    pub revoked_at: Option<Timestamp>,
}

/// What a detection run does to the grants of agents with `high` or `critical`
/// anomalies (`/v1/irregularities/response-policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ResponseMode {
    /// `revoke_agent_grants` (the default): their active grants are revoked.
    #[default]
    RevokeAgentGrants,
    /// `alert_only`: anomalies are stored, no grant is touched.
    AlertOnly,
}

impl ResponseMode {
    /// The wire spelling: `revoke_agent_grants` or `alert_only`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseMode::RevokeAgentGrants => "revoke_agent_grants",
            ResponseMode::AlertOnly => "alert_only",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "revoke_agent_grants" => Some(ResponseMode::RevokeAgentGrants),
            "alert_only" => Some(ResponseMode::AlertOnly),
            _ => None,
        }
    }
}

/// An alert's place in the lifecycle `open → acknowledged → resolved` (any route may
/// be called in any state, as on the hosted server).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum AlertStatus {
    #[default]
    Open,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// A rule's metadata, its keys in the order the hosted server writes them (whatever
/// `serde_json`'s `preserve_order` feature is set to).
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

/// An audit entry as the server keeps it: with its id and time.
#[derive(Clone, Debug)]
pub(crate) struct AuditRecord {
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

impl AuditRecord {
    pub fn new(entry: AuditEntry, now: Timestamp) -> Self {
        let timestamp = entry.timestamp.unwrap_or(now);
        AuditRecord {
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

/// A grant as the server keeps it: with its id and issue time.
#[derive(Clone, Debug)]
pub(crate) struct GrantRecord {
    pub id: String,
    pub agent_id: String,
    pub principal_id: String,
    pub issued_at: Timestamp,
    /// Set when detection revokes it; only active (unrevoked) grants are revoked.
    pub revoked_at: Option<Timestamp>,
}

impl GrantRecord {
    pub fn new(grant: Grant, now: Timestamp) -> Self {
        let issued_at = grant.issued_at.unwrap_or(now);
        GrantRecord {
            id: ids::ulid("grnt_", issued_at),
            agent_id: grant.agent_id,
            principal_id: grant.principal_id,
            issued_at,
            revoked_at: None,
        }
    }

    /// The public view of this grant.
    pub fn snapshot(&self) -> StoredGrant {
        StoredGrant {
            id: self.id.clone(),
            agent_id: self.agent_id.clone(),
            principal_id: self.principal_id.clone(),
            issued_at: self.issued_at,
            revoked_at: self.revoked_at,
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

/// An anomaly as the server keeps it.
#[derive(Clone, Debug)]
pub(crate) struct AnomalyRecord {
    /// Insertion order, to break ties between equal `detected_at` (newest first).
    pub seq: u64,
    pub id: String,
    pub finding: Finding,
    pub detected_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub status: AlertStatus,
    /// Always `None` today: nothing evaluates custom rules (as on the hosted server).
    pub rule_id: Option<String>,
    pub resolved_at: Option<Timestamp>,
    /// The last note given to the alert routes.
    pub note: Option<String>,
}

impl AnomalyRecord {
    /// A freshly detected anomaly: open, no rule, no note.
    pub fn detected(seq: u64, id: String, finding: Finding, detected_at: Timestamp) -> Self {
        AnomalyRecord {
            seq,
            id,
            finding,
            detected_at,
            acknowledged_at: None,
            status: AlertStatus::Open,
            rule_id: None,
            resolved_at: None,
            note: None,
        }
    }

    /// The public view of this anomaly.
    pub fn snapshot(&self) -> StoredAnomaly {
        let metadata = match serde_json::to_value(&self.finding.metadata) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        StoredAnomaly {
            id: self.id.clone(),
            kind: self.finding.kind.to_owned(),
            severity: self.finding.severity.to_owned(),
            agent_id: self.finding.agent_id.clone(),
            principal_id: self.finding.principal_id.clone(),
            description: self.finding.description.clone(),
            metadata,
            detected_at: self.detected_at,
            acknowledged_at: self.acknowledged_at,
            status: self.status.as_str().to_owned(),
            rule_id: self.rule_id.clone(),
            resolved_at: self.resolved_at,
            note: self.note.clone(),
        }
    }
}

/// A custom detection rule (`POST /v1/anomaly/rules`); stored only, never evaluated.
#[derive(Clone, Debug)]
pub(crate) struct RuleRecord {
    /// Creation order, to list newest first on equal `created_at`.
    pub seq: u64,
    /// `arule_` + ULID (the id the PATCH and DELETE routes take).
    pub id: String,
    pub rule_id: String,
    pub name: String,
    pub description: Option<String>,
    /// An object or an array, as given (numbers as JavaScript writes them).
    pub condition: Value,
    pub severity: String,
    pub alert_channels: Vec<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
}

/// A notification channel (`POST /v1/anomaly/channels`); stored only, nothing is ever
/// delivered to it.
#[derive(Clone, Debug)]
pub(crate) struct ChannelRecord {
    pub seq: u64,
    /// `achan_` + ULID.
    pub id: String,
    /// `slack`, `webhook` or `email`.
    pub kind: String,
    pub name: String,
    /// An object or an array, as given, secrets included.
    pub config: Value,
    pub severities: Vec<String>,
    pub enabled: bool,
    pub created_at: Timestamp,
}

/// Roughly how many bytes a stored record holds: its text (ids, names, metadata,
/// conditions, configs, at their JSON length) plus a fixed overhead. What the
/// per-account byte budget ([`StorageLimits::collection_bytes`](crate::StorageLimits))
/// counts.
pub(crate) trait StoredSize {
    fn stored_size(&self) -> usize;
}

/// Per record, beyond its text: the timestamps, numbers and allocations.
const RECORD_OVERHEAD: usize = 64;

/// The length of `value` as compact JSON, roughly (string escapes are not counted).
/// Iterative: a deeply nested value cannot overflow the stack.
pub(crate) fn json_size(value: &Value) -> usize {
    let mut size = 0;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        size += match value {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 8,
            Value::String(s) => s.len() + 2,
            Value::Array(items) => {
                pending.extend(items);
                items.len() + 2
            }
            Value::Object(map) => {
                pending.extend(map.values());
                map.keys().map(|k| k.len() + 4).sum::<usize>() + 2
            }
        };
    }
    size
}

fn map_size(map: &Map<String, Value>) -> usize {
    map.iter()
        .map(|(k, v)| k.len() + 4 + json_size(v))
        .sum::<usize>()
        + 2
}

impl StoredSize for AuditRecord {
    fn stored_size(&self) -> usize {
        RECORD_OVERHEAD
            + self.id.len()
            + self.agent_id.len()
            + self.agent_did.len()
            + self.grant_id.len()
            + self.principal_id.len()
            + self.action.len()
            + map_size(&self.metadata)
    }
}

impl StoredSize for GrantRecord {
    fn stored_size(&self) -> usize {
        RECORD_OVERHEAD + self.id.len() + self.agent_id.len() + self.principal_id.len()
    }
}

impl StoredSize for AnomalyRecord {
    fn stored_size(&self) -> usize {
        let finding = &self.finding;
        RECORD_OVERHEAD
            + self.id.len()
            + finding.agent_id.as_ref().map_or(0, String::len)
            + finding.principal_id.as_ref().map_or(0, String::len)
            + finding.description.len()
            + finding
                .metadata
                .0
                .iter()
                .map(|(k, v)| k.len() + 4 + json_size(v))
                .sum::<usize>()
            + self.rule_id.as_ref().map_or(0, String::len)
            + self.note.as_ref().map_or(0, String::len)
    }
}

impl StoredSize for RuleRecord {
    fn stored_size(&self) -> usize {
        RECORD_OVERHEAD
            + self.id.len()
            + self.rule_id.len()
            + self.name.len()
            + self.description.as_ref().map_or(0, String::len)
            + json_size(&self.condition)
            + self.severity.len()
            + self
                .alert_channels
                .iter()
                .map(|c| c.len() + 4)
                .sum::<usize>()
    }
}

impl StoredSize for ChannelRecord {
    fn stored_size(&self) -> usize {
        RECORD_OVERHEAD
            + self.id.len()
            + self.kind.len()
            + self.name.len()
            + json_size(&self.config)
            + self.severities.iter().map(|s| s.len() + 4).sum::<usize>()
    }
}
