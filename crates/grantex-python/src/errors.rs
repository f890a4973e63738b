//! The one conversion from [`crate::Error`] to the exceptions of `grantex._errors`.
//!
//! | Rust | Python |
//! | --- | --- |
//! | `Api` with 401 or 403 | `GrantexAuthError(message, status_code, body, request_id, code, rate_limit)` |
//! | `Api` otherwise | `GrantexApiError(...)`, same arguments |
//! | `Network` | `GrantexNetworkError("Network error: ...", cause=OSError subclass)` |
//! | `Timeout` | `GrantexTimeoutError("Request timed out ...", cause=TimeoutError)` |
//! | `Decode` | `GrantexDecodeError(message, status_code, excerpt, rate_limit)` |
//! | `Config`, `InvalidArgument` | `ValueError(message)` |
//!
//! The cause is also the exception's `__cause__`, as `raise ... from cause` would set it.
//! No message is ever built from the API key: the Rust errors never hold it.

use std::error::Error as StdError;

use pyo3::{
    exceptions::{PyConnectionError, PyOSError, PyTimeoutError, PyValueError},
    prelude::*,
};

use super::convert::{classes, json, rate_limit};
use grantex::Error;

/// The Python exception for a Rust error.
pub(super) fn to_pyerr(py: Python<'_>, error: Error) -> PyErr {
    build(py, error).unwrap_or_else(|failed| failed)
}

/// `GrantexClosedError`, for a call on a closed client.
pub(super) fn closed_error(py: Python<'_>) -> PyErr {
    match classes(py) {
        Ok(c) => PyErr::from_type(
            c.closed_error.bind(py).clone(),
            "this Grantex client is closed",
        ),
        Err(e) => e,
    }
}

fn build(py: Python<'_>, error: Error) -> PyResult<PyErr> {
    let c = classes(py)?;
    Ok(match error {
        Error::Api(e) => {
            let class = if e.is_auth() {
                &c.auth_error
            } else {
                &c.api_error
            };
            let body = match &e.body {
                Some(value) => json(py, value)?,
                None => py.None().into_bound(py),
            };
            let e = *e;
            let args = (
                e.message,
                e.status,
                body,
                e.request_id,
                e.code,
                rate_limit(py, e.rate_limit)?,
            );
            PyErr::from_value(class.bind(py).call1(args)?)
        }
        Error::Network { message, source } => {
            let cause = os_error(&source, &message);
            let err = PyErr::from_value(
                c.network_error
                    .bind(py)
                    .call1((format!("Network error: {message}"), cause.value(py)))?,
            );
            err.set_cause(py, Some(cause));
            err
        }
        Error::Timeout {
            timeout, message, ..
        } => {
            let cause = PyTimeoutError::new_err(message.clone());
            let err = PyErr::from_value(c.timeout_error.bind(py).call1((
                format!(
                    "Request timed out after {}s: {message}",
                    timeout.as_secs_f64()
                ),
                cause.value(py),
            ))?);
            err.set_cause(py, Some(cause));
            err
        }
        Error::Decode {
            status,
            message,
            excerpt,
            rate_limit: limits,
        } => {
            let text = format!("could not decode the HTTP {status} response: {message}");
            PyErr::from_value(c.decode_error.bind(py).call1((
                text,
                status,
                excerpt,
                rate_limit(py, limits)?,
            ))?)
        }
        Error::Config(message) | Error::InvalidArgument(message) => PyValueError::new_err(message),
        // `grantex::Error` is non-exhaustive: a variant added later still reaches Python.
        other => PyValueError::new_err(other.to_string()),
    })
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
