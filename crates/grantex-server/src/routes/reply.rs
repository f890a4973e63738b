//! Responses: the JSON reply under construction, and the two error shapes (the
//! application's and the framework's 404).

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde::Serialize;

use crate::ids;
use crate::ratelimit::Decision;

/// A response under construction: always `application/json`, with the rate-limit
/// headers of `rate` and a `retry-after` when set.
pub(super) struct Reply {
    status: StatusCode,
    body: String,
    /// `false` for a 204: no body, no content type.
    has_body: bool,
    rate: Option<Decision>,
    retry_after: Option<u64>,
}

impl Reply {
    /// `value` serialized as the body.
    pub fn json(status: StatusCode, value: &impl Serialize) -> Reply {
        let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
        Reply::raw(status, body)
    }

    /// `body` as it is (it need not be valid JSON).
    pub fn raw(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            body,
            has_body: true,
            rate: None,
            retry_after: None,
        }
    }

    /// 204 No Content: no body and no `content-type`, as the hosted DELETE routes
    /// answer.
    pub fn no_content() -> Reply {
        Reply {
            has_body: false,
            ..Reply::raw(StatusCode::NO_CONTENT, String::new())
        }
    }

    /// With the headers of this limiter decision, if there is one (an earlier one
    /// stays otherwise).
    pub fn rate(mut self, rate: Option<Decision>) -> Reply {
        if rate.is_some() {
            self.rate = rate;
        }
        self
    }

    /// With `retry-after: secs`, if set.
    pub fn retry_after(mut self, secs: Option<u64>) -> Reply {
        self.retry_after = secs;
        self
    }

    pub fn into_response(self) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        if let Some(rate) = self.rate {
            headers.insert("x-ratelimit-limit", HeaderValue::from(rate.limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(rate.remaining));
            headers.insert("x-ratelimit-reset", HeaderValue::from(rate.reset_secs));
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.has_body {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// The application's error shape: `{"message", "code", "requestId"}`.
pub(super) fn app_error(status: StatusCode, message: &str, code: &str) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ErrorBody<'a> {
        message: &'a str,
        code: &'a str,
        request_id: String,
    }
    Reply::json(
        status,
        &ErrorBody {
            message,
            code,
            request_id: ids::request_id(),
        },
    )
}

/// 400 `BAD_REQUEST` with `message`.
pub(super) fn bad_request(message: &str) -> Reply {
    app_error(StatusCode::BAD_REQUEST, message, "BAD_REQUEST")
}

/// 413 `PAYLOAD_TOO_LARGE` with `message`: the account's storage limits (see
/// [`StorageLimits`](crate::StorageLimits)).
pub(super) fn payload_too_large(message: &str) -> Reply {
    app_error(StatusCode::PAYLOAD_TOO_LARGE, message, "PAYLOAD_TOO_LARGE")
}

/// 404 `NOT_FOUND` with `message`.
pub(super) fn not_found(message: &str) -> Reply {
    app_error(StatusCode::NOT_FOUND, message, "NOT_FOUND")
}

/// The framework's own 404: `{"message": "Route GET:/x not found", "error", "statusCode"}`.
pub(super) fn route_not_found(method: &Method, path_and_query: &str) -> Reply {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct NotFoundBody {
        message: String,
        error: &'static str,
        status_code: u16,
    }
    Reply::json(
        StatusCode::NOT_FOUND,
        &NotFoundBody {
            message: format!("Route {method}:{path_and_query} not found"),
            error: "Not Found",
            status_code: 404,
        },
    )
}
