//! The answers of injected faults (see [`crate::Fault`]), the first stage of every API
//! request.

use axum::http::StatusCode;

use super::reply::{app_error, Reply};
use crate::conn::ConnInfo;
use crate::faults::FaultAction;

/// What a malformed-body fault sends: valid JSON cut off mid-string.
const TRUNCATED_BODY: &str =
    r#"{"detectedAt":"2026-11-25T06:07:19.432Z","total":4,"anomalies":[{"id":"anm_01M8"#;

/// Applies a fault taken for this request: `None` to go on and process it (after a
/// delay, for a delay fault), or the reply that replaces it.
pub(super) async fn apply(action: FaultAction, conn: &ConnInfo) -> Option<Reply> {
    match action {
        FaultAction::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        FaultAction::Drop => {
            conn.sever();
            // Never delivered: the socket is shut down, so hyper's write fails and it
            // closes the connection.
            Some(app_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Connection dropped",
                "INJECTED_FAULT",
            ))
        }
        FaultAction::MalformedBody => Some(Reply::raw(StatusCode::OK, TRUNCATED_BODY.to_owned())),
        FaultAction::Status {
            status,
            body,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reply = match body {
                Some(body) => Reply::raw(status, body),
                None => app_error(
                    status,
                    status.canonical_reason().unwrap_or("Error"),
                    "INJECTED_FAULT",
                ),
            };
            Some(reply.retry_after(retry_after))
        }
    }
}
