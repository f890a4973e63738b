//! HTTP handling: one dispatcher in front of every route, so that the order of the
//! hosted server's stages is explicit: fault injection, per-IP limit, route matching,
//! body parsing, authentication, per-route limit, plan limit, handler.
//!
//! - [`reply`]: the response under construction and the error shapes;
//! - [`body`]: reading JSON bodies, and typed bodies checked field by field;
//! - [`auth`], [`limits`], [`injected`]: the authentication, rate-limit and fault
//!   stages;
//! - [`js`]: the JavaScript rules the hosted checks follow;
//! - [`anomalies`], [`alerts`], [`custom_rules`], [`channels`], [`response_policy`],
//!   [`audit`]: the hosted routes;
//! - [`test_only`]: the `/v1/test/...` routes.

mod alerts;
mod anomalies;
mod audit;
mod auth;
mod body;
mod channels;
mod custom_rules;
mod injected;
mod js;
mod limits;
mod reply;
mod response_policy;
mod test_only;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::Router;
use percent_encoding::percent_decode_str;

use self::auth::{authenticate, Auth};
use self::body::read_body;
use self::limits::{plan_check, window_check};
use self::reply::{route_not_found, Reply};
use crate::conn::ConnInfo;
use crate::faults;
use crate::ratelimit::Scope;
use crate::shared::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).with_state(shared)
}

/// The API routes (the hosted paths); ids are percent-decoded.
enum Route {
    Detect,
    List,
    Acknowledge(String),
    AuditLog,
    Alerts,
    Alert(String),
    AlertAcknowledge(String),
    AlertResolve(String),
    Metrics,
    Rules,
    CreateRule,
    UpdateRule(String),
    DeleteRule(String),
    Channels,
    CreateChannel,
    DeleteChannel(String),
    ResponsePolicy,
    SetResponsePolicy,
}

/// The one path segment between `prefix` and `suffix`, percent-decoded; `None` when
/// the path has another shape or the segment is empty.
fn param_segment(path: &str, prefix: &str, suffix: &str) -> Option<String> {
    let id = path.strip_prefix(prefix)?.strip_suffix(suffix)?;
    if id.is_empty() || id.contains('/') {
        return None;
    }
    Some(percent_decode_str(id).decode_utf8_lossy().into_owned())
}

impl Route {
    fn matching(method: &Method, path: &str) -> Option<Route> {
        // The hosted framework answers HEAD wherever it answers GET.
        let method = match method.as_str() {
            "HEAD" => "GET",
            other => other,
        };
        match (method, path) {
            ("POST", "/v1/anomalies/detect") => Some(Route::Detect),
            ("GET", "/v1/anomalies") => Some(Route::List),
            ("POST", "/v1/audit/log") => Some(Route::AuditLog),
            ("GET", "/v1/anomaly/alerts") => Some(Route::Alerts),
            ("GET", "/v1/anomaly/metrics") => Some(Route::Metrics),
            ("GET", "/v1/anomaly/rules") => Some(Route::Rules),
            ("POST", "/v1/anomaly/rules") => Some(Route::CreateRule),
            ("GET", "/v1/anomaly/channels") => Some(Route::Channels),
            ("POST", "/v1/anomaly/channels") => Some(Route::CreateChannel),
            ("GET", "/v1/irregularities/response-policy") => Some(Route::ResponsePolicy),
            ("PATCH", "/v1/irregularities/response-policy") => Some(Route::SetResponsePolicy),
            ("PATCH", _) => param_segment(path, "/v1/anomalies/", "/acknowledge")
                .map(Route::Acknowledge)
                .or_else(|| param_segment(path, "/v1/anomaly/rules/", "").map(Route::UpdateRule)),
            ("GET", _) => param_segment(path, "/v1/anomaly/alerts/", "").map(Route::Alert),
            ("POST", _) => param_segment(path, "/v1/anomaly/alerts/", "/acknowledge")
                .map(Route::AlertAcknowledge)
                .or_else(|| {
                    param_segment(path, "/v1/anomaly/alerts/", "/resolve").map(Route::AlertResolve)
                }),
            ("DELETE", _) => param_segment(path, "/v1/anomaly/rules/", "")
                .map(Route::DeleteRule)
                .or_else(|| {
                    param_segment(path, "/v1/anomaly/channels/", "").map(Route::DeleteChannel)
                }),
            _ => None,
        }
    }

    /// The per-route limiter this route is under, if any.
    fn limited_as(&self) -> Option<&'static str> {
        match self {
            Route::Detect => Some("detect"),
            Route::AuditLog => Some("audit_log"),
            Route::CreateRule => Some("anomaly_rules_create"),
            Route::CreateChannel => Some("anomaly_channels_create"),
            _ => None,
        }
    }
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    request: Request,
) -> Response {
    // No connection timeout while the request is handled (see `conn`).
    let _handler = conn.handler_started();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let path_and_query = parts.uri.path_and_query().map_or(path, |pq| pq.as_str());

    if path == "/v1/test" || path.starts_with("/v1/test/") {
        let reply = match read_body(&shared, &parts.method, &parts.headers, body).await {
            Ok(json) => test_only::handle(
                &shared,
                &parts.method,
                path,
                path_and_query,
                &parts.headers,
                json,
            ),
            Err(reply) => reply,
        };
        return reply.into_response();
    }

    let fault = faults::take_matching(&shared.faults, parts.method.as_str(), path);
    if let Some(action) = fault {
        if let Some(reply) = injected::apply(action, &conn).await {
            return reply.into_response();
        }
    }

    let request = ApiRequest {
        method: &parts.method,
        path,
        query: parts.uri.query(),
        path_and_query,
        headers: &parts.headers,
    };
    request.answer(&shared, &conn, body).await.into_response()
}

/// A request to the hosted API, past fault injection.
struct ApiRequest<'a> {
    method: &'a Method,
    path: &'a str,
    query: Option<&'a str>,
    path_and_query: &'a str,
    headers: &'a HeaderMap,
}

impl ApiRequest<'_> {
    async fn answer(&self, shared: &Shared, conn: &ConnInfo, body: Body) -> Reply {
        let now = shared.clock.now();

        // Before authentication: the per-IP limiter.
        let ip = conn.peer.ip().to_string();
        let ip_decision = match window_check(shared, Scope::Ip, &ip, now) {
            Ok(decision) => decision,
            Err(reply) => return reply,
        };

        let Some(route) = Route::matching(self.method, self.path) else {
            // Unknown route: still counted against an authenticated caller's plan.
            let reply = route_not_found(self.method, self.path_and_query).rate(ip_decision);
            return match authenticate(shared, self.headers, now) {
                Auth::Account(key) => match plan_check(shared, &key, now) {
                    Err(reply) => reply,
                    Ok(plan) => reply.rate(plan),
                },
                _ => reply,
            };
        };

        let json = match read_body(shared, self.method, self.headers, body).await {
            Ok(json) => json,
            Err(reply) => return reply.rate(ip_decision),
        };

        let key = match authenticate(shared, self.headers, now).into_account() {
            Ok(key) => key,
            Err(reply) => return reply.rate(ip_decision),
        };

        if let Some(name) = route.limited_as() {
            if let Err(reply) = window_check(shared, Scope::Route(name), &key, now) {
                return reply;
            }
        }
        let plan = match plan_check(shared, &key, now) {
            Ok(plan) => plan.or(ip_decision),
            Err(reply) => return reply,
        };

        let query = self.query;
        let reply = match route {
            Route::Detect => anomalies::detect(shared, &key, now),
            Route::List => anomalies::list(shared, &key, query),
            Route::Acknowledge(id) => anomalies::acknowledge(shared, &key, &id, now),
            Route::AuditLog => audit::audit_log(shared, &key, json, now),
            Route::Alerts => alerts::list(shared, &key, query),
            Route::Alert(id) => alerts::get(shared, &key, &id),
            Route::AlertAcknowledge(id) => alerts::transition(
                shared,
                &key,
                &id,
                json,
                alerts::Transition::Acknowledge,
                now,
            ),
            Route::AlertResolve(id) => {
                alerts::transition(shared, &key, &id, json, alerts::Transition::Resolve, now)
            }
            Route::Metrics => alerts::metrics(shared, &key, query, now),
            Route::Rules => custom_rules::list(shared, &key),
            Route::CreateRule => custom_rules::create(shared, &key, json, now),
            Route::UpdateRule(id) => custom_rules::set_enabled(shared, &key, &id, json, now),
            Route::DeleteRule(id) => custom_rules::delete(shared, &key, &id, now),
            Route::Channels => channels::list(shared, &key),
            Route::CreateChannel => channels::create(shared, &key, json, now),
            Route::DeleteChannel(id) => channels::delete(shared, &key, &id, now),
            Route::ResponsePolicy => response_policy::get(shared, &key, now),
            Route::SetResponsePolicy => response_policy::set(shared, &key, json, now),
        };
        reply.rate(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert!(matches!(
            Route::matching(&Method::POST, "/v1/anomalies/detect"),
            Some(Route::Detect)
        ));
        assert!(matches!(
            Route::matching(&Method::PATCH, "/v1/anomalies/anm_1/acknowledge"),
            Some(Route::Acknowledge(id)) if id == "anm_1"
        ));
        assert!(Route::matching(&Method::PATCH, "/v1/anomalies//acknowledge").is_none());
        assert!(Route::matching(&Method::POST, "/v1/anomalies/anm_1/acknowledge").is_none());
        assert!(Route::matching(&Method::GET, "/v1/anomalies/").is_none());

        assert!(matches!(
            Route::matching(&Method::GET, "/v1/anomaly/alerts/anm%5F1"),
            Some(Route::Alert(id)) if id == "anm_1"
        ));
        assert!(matches!(
            Route::matching(&Method::HEAD, "/v1/anomaly/alerts"),
            Some(Route::Alerts)
        ));
        assert!(matches!(
            Route::matching(&Method::POST, "/v1/anomaly/alerts/a/acknowledge"),
            Some(Route::AlertAcknowledge(id)) if id == "a"
        ));
        assert!(matches!(
            Route::matching(&Method::POST, "/v1/anomaly/alerts/a/resolve"),
            Some(Route::AlertResolve(id)) if id == "a"
        ));
        assert!(matches!(
            Route::matching(&Method::PATCH, "/v1/anomaly/rules/arule_1"),
            Some(Route::UpdateRule(id)) if id == "arule_1"
        ));
        assert!(matches!(
            Route::matching(&Method::DELETE, "/v1/anomaly/channels/achan_1"),
            Some(Route::DeleteChannel(id)) if id == "achan_1"
        ));
        assert!(Route::matching(&Method::GET, "/v1/anomaly/alerts/").is_none());
        assert!(Route::matching(&Method::GET, "/v1/anomaly/alerts/a/b").is_none());
        assert!(Route::matching(&Method::PATCH, "/v1/anomaly/alerts/a/acknowledge").is_none());
        assert!(Route::matching(&Method::DELETE, "/v1/anomaly/alerts/a").is_none());
        assert!(Route::matching(&Method::PUT, "/v1/anomaly/rules/a").is_none());
        assert!(Route::matching(&Method::DELETE, "/v1/anomaly/rules").is_none());
        assert!(Route::matching(&Method::POST, "/v1/irregularities/response-policy").is_none());
    }
}
