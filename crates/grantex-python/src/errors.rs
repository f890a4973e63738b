//! The one conversion from [`grantex::Error`] to the exceptions of `grantex._errors`
//! (defined in Python, imported here with `import_exception!`, as pyca/cryptography does):
//! a binding returns `Result<_, Failure>`, and `?` does the rest.
//!
//! | Rust | Python |
//! | --- | --- |
//! | `Api` with 401 or 403 | `GrantexAuthError(message, status_code, body, request_id, code, rate_limit)` |
//! | `Api` with 400, 404, 5xx | `GrantexBadRequestError`, `GrantexNotFoundError`, `GrantexServerError`, same arguments |
//! | `Api` with 3xx | `GrantexRedirectError(..., location)` |
//! | `Api` with 429 | `GrantexRateLimitError(..., retry_after)` (seconds, or None) |
//! | `Api` otherwise | `GrantexApiError(...)`, same arguments |
//! | `Network` | `GrantexNetworkError("Network error: ...", cause=OSError subclass)` |
//! | `Timeout` | `GrantexTimeoutError("Request timed out ...", cause=TimeoutError)` |
//! | `Decode` | `GrantexDecodeError(message, status_code, excerpt, rate_limit)` |
//! | `ResponseTooLarge` | `GrantexResponseTooLargeError(message, status_code, limit)` (a `GrantexDecodeError`) |
//! | `Resources` | `GrantexNetworkError("Network error: ...", cause=OSError(errno))` |
//! | `Protocol` | `GrantexNetworkError("Invalid HTTP answer: ...", cause=ConnectionError)` |
//! | `Config`, `InvalidArgument` | `ValueError(message)` |
//!
//! The cause is also the exception's `__cause__`, as `raise ... from cause` would set it.
//! No message is ever built from the API key: the Rust errors never hold it.

use std::error::Error as StdError;

use pyo3::{
    exceptions::{PyConnectionError, PyOSError, PyTimeoutError, PyValueError},
    import_exception,
    prelude::*,
};

use crate::convert::{json_to_python, to_python};

import_exception!(grantex._errors, GrantexApiError);
import_exception!(grantex._errors, GrantexAuthError);
import_exception!(grantex._errors, GrantexBadRequestError);
import_exception!(grantex._errors, GrantexNotFoundError);
import_exception!(grantex._errors, GrantexRateLimitError);
import_exception!(grantex._errors, GrantexServerError);
import_exception!(grantex._errors, GrantexRedirectError);
import_exception!(grantex._errors, GrantexNetworkError);
import_exception!(grantex._errors, GrantexTimeoutError);
import_exception!(grantex._errors, GrantexDecodeError);
import_exception!(grantex._errors, GrantexResponseTooLargeError);
import_exception!(grantex._errors, GrantexClosedError);

/// Why a binding failed: a client error, or a Python exception already made.
pub(crate) enum Failure {
    Grantex(grantex::Error),
    Python(PyErr),
}

impl From<grantex::Error> for Failure {
    fn from(e: grantex::Error) -> Self {
        Failure::Grantex(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> PyErr {
        match failure {
            Failure::Python(e) => e,
            Failure::Grantex(e) => Python::attach(|py| build(py, e).unwrap_or_else(|e| e)),
        }
    }
}

/// `GrantexClosedError`, for a call on a closed client.
pub(crate) fn closed_error() -> PyErr {
    GrantexClosedError::new_err("this Grantex client is closed")
}

fn build(py: Python<'_>, error: grantex::Error) -> PyResult<PyErr> {
    use grantex::Error;
    Ok(match error {
        Error::Api(e) => {
            let body = match &e.body {
                Some(value) => json_to_python(
                    py,
                    &serde_json::to_vec(value).expect("a Value always serializes"),
                )?,
                None => py.None().into_bound(py),
            };
            let rate_limit = to_python(py, &e.rate_limit)?;
            let e = *e;
            let retry_after = e.retry_after.map(|wait| wait.as_secs_f64());
            let location = e.location;
            let args = (
                e.message,
                e.status,
                body.unbind(),
                e.request_id,
                e.code,
                rate_limit.unbind(),
            );
            match e.status {
                401 | 403 => GrantexAuthError::new_err(args),
                400 => GrantexBadRequestError::new_err(args),
                404 => GrantexNotFoundError::new_err(args),
                429 => {
                    let (message, status, body, request_id, code, rate_limit) = args;
                    GrantexRateLimitError::new_err((
                        message,
                        status,
                        body,
                        request_id,
                        code,
                        rate_limit,
                        retry_after,
                    ))
                }
                300..=399 => {
                    let (message, status, body, request_id, code, rate_limit) = args;
                    GrantexRedirectError::new_err((
                        message, status, body, request_id, code, rate_limit, location,
                    ))
                }
                500..=599 => GrantexServerError::new_err(args),
                _ => GrantexApiError::new_err(args),
            }
        }
        Error::Network { message, source } => {
            let cause = os_error(&source, &message);
            with_cause(py, format!("Network error: {message}"), cause)
        }
        Error::Timeout {
            timeout, message, ..
        } => {
            let cause = PyTimeoutError::new_err(message.clone());
            let err = GrantexTimeoutError::new_err((
                format!(
                    "Request timed out after {}s: {message}",
                    timeout.as_secs_f64()
                ),
                cause.value(py).clone().unbind(),
            ));
            err.set_cause(py, Some(cause));
            err
        }
        Error::Decode {
            status,
            message,
            excerpt,
            rate_limit,
        } => GrantexDecodeError::new_err((
            format!("could not decode the HTTP {status} response: {message}"),
            status,
            excerpt,
            to_python(py, &rate_limit)?.unbind(),
        )),
        Error::ResponseTooLarge { status, limit } => GrantexResponseTooLargeError::new_err((
            format!("the HTTP {status} response is larger than max_response_bytes ({limit} bytes)"),
            status,
            limit,
        )),
        Error::Resources { message, source } => {
            let cause = os_error(&source, &message);
            with_cause(py, format!("Network error: {message}"), cause)
        }
        Error::Protocol { message } => {
            let cause = PyConnectionError::new_err(message.clone());
            with_cause(py, format!("Invalid HTTP answer: {message}"), cause)
        }
        Error::Config(message) | Error::InvalidArgument(message) => PyValueError::new_err(message),
        // `grantex::Error` is non-exhaustive: a variant added later still reaches Python.
        other => PyValueError::new_err(other.to_string()),
    })
}

/// `GrantexNetworkError(message, cause)`, with `cause` also as its `__cause__`.
fn with_cause(py: Python<'_>, message: String, cause: PyErr) -> PyErr {
    let err = GrantexNetworkError::new_err((message, cause.value(py).clone().unbind()));
    err.set_cause(py, Some(cause));
    err
}

/// The OS-level error under a transport error, as the matching `OSError` subclass
/// (`OSError(errno, message)` picks `ConnectionRefusedError` etc. itself); a plain
/// `ConnectionError` when there is none (TLS, DNS, a malformed response).
fn os_error(source: &(dyn StdError + 'static), message: &str) -> PyErr {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(source);
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            if let Some(errno) = io.raw_os_error() {
                return PyOSError::new_err((errno, message.to_owned()));
            }
            if io.kind() == std::io::ErrorKind::TimedOut {
                return PyTimeoutError::new_err(message.to_owned());
            }
        }
        cause = error.source();
    }
    PyConnectionError::new_err(message.to_owned())
}
