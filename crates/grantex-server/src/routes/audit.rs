//! `POST /v1/audit/log`: validated like the hosted route, plus an optional
//! `timestamp` (RFC 3339 or `now-5m`-style) for seeding the past.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::body::{self, Field, JsonBody};
use super::reply::{bad_request, payload_too_large, Reply};
use crate::clock::Timestamp;
use crate::fixture;
use crate::records::{AuditEntry, AuditRecord, AuditStatus, StoredSize};
use crate::shared::Shared;
use crate::sync::lock;

/// The request body. The five names are required (non-empty strings); `status`
/// defaults to success, `metadata` to `{}`, `timestamp` to now.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AuditLogBody {
    agent_id: Field<String>,
    agent_did: Field<String>,
    grant_id: Field<String>,
    principal_id: Field<String>,
    action: Field<String>,
    status: Field<String>,
    metadata: Field<Map<String, Value>>,
    timestamp: Field<Option<String>>,
}

impl AuditLogBody {
    /// The entry, or the hosted server's message for the first problem.
    fn into_entry(self, now: Timestamp) -> Result<AuditEntry, &'static str> {
        let (Some(agent_id), Some(agent_did), Some(grant_id), Some(principal_id), Some(action)) = (
            self.agent_id.non_empty(),
            self.agent_did.non_empty(),
            self.grant_id.non_empty(),
            self.principal_id.non_empty(),
            self.action.non_empty(),
        ) else {
            return Err("agentId, agentDid, grantId, principalId, and action are required");
        };
        let status = match self.status {
            Field::Absent => Some(AuditStatus::Success),
            Field::Valid(s) => AuditStatus::parse(&s),
            Field::Invalid => None,
        }
        .ok_or("status must be success, failure, or blocked")?;
        let metadata = match self.metadata {
            Field::Absent => Map::new(),
            Field::Valid(m) => m,
            Field::Invalid => return Err("metadata must be an object"),
        };
        let timestamp = match self.timestamp {
            Field::Absent | Field::Valid(None) => Ok(now),
            Field::Valid(Some(s)) => fixture::parse_time(&s, now).map_err(drop),
            Field::Invalid => Err(()),
        }
        .map_err(|()| "timestamp must be an RFC 3339 date-time")?;
        Ok(AuditEntry {
            agent_id,
            agent_did,
            grant_id,
            principal_id,
            action,
            metadata,
            status,
            timestamp: Some(timestamp),
        })
    }
}

/// An audit entry as the hosted route echoes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuditJson<'a> {
    id: &'a str,
    entry_id: &'a str,
    agent_id: &'a str,
    agent_did: &'a str,
    grant_id: &'a str,
    principal_id: &'a str,
    action: &'a str,
    metadata: &'a Map<String, Value>,
    timestamp: Timestamp,
    status: &'static str,
}

impl<'a> From<&'a AuditRecord> for AuditJson<'a> {
    fn from(a: &'a AuditRecord) -> Self {
        AuditJson {
            id: &a.id,
            entry_id: &a.id,
            agent_id: &a.agent_id,
            agent_did: &a.agent_did,
            grant_id: &a.grant_id,
            principal_id: &a.principal_id,
            action: &a.action,
            metadata: &a.metadata,
            timestamp: a.timestamp,
            status: a.status.as_str(),
        }
    }
}

/// `POST /v1/audit/log`.
pub(super) fn audit_log(shared: &Shared, key: &str, json: JsonBody, now: Timestamp) -> Reply {
    // Anything but an object is a body without the required fields.
    let body: AuditLogBody = body::object(json).unwrap_or_default();
    let entry = match body.into_entry(now) {
        Ok(entry) => entry,
        Err(message) => return bad_request(message),
    };
    let record = AuditRecord::new(entry, now);
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    // Only with a byte budget below the 1 MiB body limit: the entry alone is too big.
    let budget = account.limits().collection_bytes;
    if record.stored_size() > budget {
        return payload_too_large(&format!(
            "Audit entry too large: the local server keeps at most {budget} bytes of audit entries per account"
        ));
    }
    let reply = Reply::json(StatusCode::CREATED, &AuditJson::from(&record));
    // The earliest entries beyond the account's limits are dropped.
    account.record_audit(record);
    reply
}
