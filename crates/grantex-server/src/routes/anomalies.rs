//! The hosted anomaly routes: detect, list and acknowledge.

use axum::http::StatusCode;
use serde::Serialize;

use super::reply::{app_error, Reply};
use crate::clock::Timestamp;
use crate::records::{AnomalyRecord, Metadata};
use crate::shared::Shared;
use crate::sync::lock;

/// An anomaly in the wire's key order; `M` is the metadata object (detect) or the
/// metadata as a JSON string (list, acknowledge).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AnomalyJson<'a, M: Serialize> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    severity: &'a str,
    agent_id: Option<&'a str>,
    principal_id: Option<&'a str>,
    description: &'a str,
    metadata: M,
    detected_at: Timestamp,
    acknowledged_at: Option<Timestamp>,
}

fn anomaly_json<M: Serialize>(a: &AnomalyRecord, metadata: M) -> AnomalyJson<'_, M> {
    AnomalyJson {
        id: &a.id,
        kind: a.finding.kind,
        severity: a.finding.severity,
        agent_id: a.finding.agent_id.as_deref(),
        principal_id: a.finding.principal_id.as_deref(),
        description: &a.finding.description,
        metadata,
        detected_at: a.detected_at,
        acknowledged_at: a.acknowledged_at,
    }
}

fn with_metadata_object(a: &AnomalyRecord) -> AnomalyJson<'_, &Metadata> {
    anomaly_json(a, &a.finding.metadata)
}

fn with_metadata_string(a: &AnomalyRecord) -> AnomalyJson<'_, String> {
    anomaly_json(a, a.finding.metadata.to_json_string())
}

/// `POST /v1/anomalies/detect`.
pub(super) fn detect(shared: &Shared, key: &str, now: Timestamp) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct DetectResponse<'a> {
        detected_at: Timestamp,
        total: usize,
        auto_revoked_grants: usize,
        response_mode: &'static str,
        anomalies: Vec<AnomalyJson<'a, &'a Metadata>>,
    }
    let run = lock(&shared.store).account(key, now).detect(now);
    Reply::json(
        StatusCode::OK,
        &DetectResponse {
            detected_at: now,
            total: run.anomalies.len(),
            auto_revoked_grants: run.auto_revoked_grants,
            response_mode: run.response_mode.as_str(),
            anomalies: run.anomalies.iter().map(with_metadata_object).collect(),
        },
    )
}

/// Whether the query string asks for unacknowledged anomalies only: exactly one
/// `unacknowledged` parameter whose value is exactly `true`.
fn wants_unacknowledged(query: Option<&str>) -> bool {
    let mut values = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(|(name, _)| name == "unacknowledged")
        .map(|(_, value)| value);
    values.next().is_some_and(|v| v == "true") && values.next().is_none()
}

/// `GET /v1/anomalies[?unacknowledged=true]`.
pub(super) fn list(shared: &Shared, key: &str, query: Option<&str>) -> Reply {
    #[derive(Serialize)]
    struct ListResponse<'a> {
        anomalies: Vec<AnomalyJson<'a, String>>,
        total: usize,
    }
    let unacknowledged_only = wants_unacknowledged(query);
    let store = lock(&shared.store);
    let anomalies: Vec<AnomalyJson<'_, String>> = store
        .existing(key)
        .map(|account| account.anomalies_newest_first(unacknowledged_only))
        .unwrap_or_default()
        .into_iter()
        .map(with_metadata_string)
        .collect();
    Reply::json(
        StatusCode::OK,
        &ListResponse {
            total: anomalies.len(),
            anomalies,
        },
    )
}

/// `PATCH /v1/anomalies/{id}/acknowledge`.
pub(super) fn acknowledge(shared: &Shared, key: &str, id: &str, now: Timestamp) -> Reply {
    let mut store = lock(&shared.store);
    let account = store.account(key, now);
    match account.anomalies.iter_mut().find(|a| a.id == id) {
        Some(anomaly) => {
            anomaly.acknowledged_at = Some(now);
            Reply::json(StatusCode::OK, &with_metadata_string(anomaly))
        }
        None => app_error(StatusCode::NOT_FOUND, "Anomaly not found", "NOT_FOUND"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unacknowledged_query() {
        assert!(wants_unacknowledged(Some("unacknowledged=true")));
        assert!(wants_unacknowledged(Some("x=1&unacknowledged=true")));
        assert!(wants_unacknowledged(Some("unacknowledged=%74rue")));
        assert!(!wants_unacknowledged(Some("unacknowledged=1")));
        assert!(!wants_unacknowledged(Some("unacknowledged=True")));
        assert!(!wants_unacknowledged(Some(
            "unacknowledged=true&unacknowledged=true"
        )));
        assert!(!wants_unacknowledged(Some("")));
        assert!(!wants_unacknowledged(None));
    }
}
