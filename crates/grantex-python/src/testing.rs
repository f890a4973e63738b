//! `grantex._native.TestServer`: the local Grantex server ([`grantex_server::TestServer`])
//! for Python, wrapped by `grantex.testing.GrantexTestServer` (python/grantex/testing/).
//!
//! The server runs in-process on the one runtime of the process ([`super::runtime`]); the
//! GIL is released while it starts and stops. Every other method is a short, synchronous
//! call on the server's state (no I/O). Times cross the boundary as milliseconds since the
//! Unix epoch (the Python side converts `datetime`s and ISO strings), anomalies as dicts.
//!
//! After `os.fork()` the child has none of the runtime's threads, so the server is not
//! serving there: its state can still be read and seeded, and closing it in the child only
//! forgets it (never waits for the parent's threads).

use std::time::Duration;

use pyo3::{
    exceptions::{PyOSError, PyRuntimeError, PyValueError},
    prelude::*,
    types::PyDict,
};

use grantex_server::{
    AuditEntry, AuditStatus, Fault, FaultAction, Grant, RateLimits, ServerError, Timestamp,
};

use crate::{fork::ProcessLocal, runtime};

/// The native local server behind `grantex.testing.GrantexTestServer`.
#[pyclass(frozen, module = "grantex._native", name = "TestServer")]
pub(super) struct TestServer {
    url: String,
    api_key: String,
    port: u16,
    /// Empty once closed. A server started before a fork is not serving in the child (its
    /// threads are not there), but its state can still be read and seeded.
    server: ProcessLocal<grantex_server::TestServer>,
}

fn rate_limits(name: &str) -> PyResult<RateLimits> {
    match name {
        "hosted" => Ok(RateLimits::hosted()),
        "generous" => Ok(RateLimits::generous()),
        "off" | "disabled" => Ok(RateLimits::disabled()),
        other => Err(PyValueError::new_err(format!(
            "rate_limits must be \"hosted\", \"generous\" or \"off\", not {other:?}"
        ))),
    }
}

/// A timeout given in seconds: positive and finite.
fn seconds(name: &str, secs: f64) -> PyResult<Duration> {
    if secs > 0.0 {
        if let Ok(duration) = Duration::try_from_secs_f64(secs) {
            return Ok(duration);
        }
    }
    Err(PyValueError::new_err(format!(
        "{name} must be a positive number of seconds, not {secs}"
    )))
}

fn status(name: &str) -> PyResult<AuditStatus> {
    AuditStatus::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "status must be \"success\", \"failure\" or \"blocked\", not {name:?}"
        ))
    })
}

fn start_error(error: ServerError) -> PyErr {
    let message = error.to_string();
    match &error {
        ServerError::Bind { source, .. } => match source.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, message)),
            None => PyOSError::new_err(message),
        },
    }
}

impl TestServer {
    /// Runs `f` on the server, or raises if it was closed.
    fn with<T>(&self, f: impl FnOnce(&grantex_server::TestServer) -> T) -> PyResult<T> {
        self.server
            .inspect(f)
            .ok_or_else(|| PyRuntimeError::new_err("the Grantex test server is closed"))
    }

    fn key<'a>(&'a self, api_key: Option<&'a str>) -> &'a str {
        api_key.unwrap_or(&self.api_key)
    }
}

#[pymethods]
impl TestServer {
    #[new]
    #[pyo3(signature = (port, demo, api_key, rate_limits_name, header_read_timeout=None, idle_timeout=None, max_connections=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        port: u16,
        demo: bool,
        api_key: Option<String>,
        rate_limits_name: &str,
        header_read_timeout: Option<f64>,
        idle_timeout: Option<f64>,
        max_connections: Option<usize>,
    ) -> PyResult<Self> {
        let mut builder = grantex_server::TestServer::builder()
            .port(port)
            .demo(demo)
            .rate_limits(rate_limits(rate_limits_name)?);
        if let Some(secs) = header_read_timeout {
            builder = builder.header_read_timeout(seconds("header_read_timeout", secs)?);
        }
        if let Some(secs) = idle_timeout {
            builder = builder.idle_timeout(seconds("idle_timeout", secs)?);
        }
        if let Some(max) = max_connections {
            if max == 0 {
                return Err(PyValueError::new_err("max_connections must be at least 1"));
            }
            builder = builder.max_connections(max);
        }
        if let Some(key) = api_key {
            if key.trim().is_empty() {
                return Err(PyValueError::new_err("api_key must not be empty"));
            }
            builder = builder.api_key(key);
        }
        let runtime = runtime::get()?;
        let server = py
            .detach(|| runtime.block_on(builder.start()))
            .map_err(start_error)?;
        Ok(TestServer {
            url: server.url(),
            api_key: server.api_key().to_owned(),
            port: server.port(),
            server: ProcessLocal::new(server),
        })
    }

    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    #[getter]
    fn api_key(&self) -> &str {
        &self.api_key
    }

    #[getter]
    fn port(&self) -> u16 {
        self.port
    }

    #[getter]
    fn closed(&self) -> bool {
        self.server.is_empty()
    }

    fn add_api_key(&self, key: &str) -> PyResult<()> {
        if key.trim().is_empty() {
            return Err(PyValueError::new_err("the API key must not be empty"));
        }
        self.with(|s| s.add_api_key(key))
    }

    #[pyo3(signature = (api_key, agent_id, status_name, timestamp_ms, principal_id, action, agent_did, grant_id, metadata_json))]
    #[allow(clippy::too_many_arguments)]
    fn record_audit(
        &self,
        api_key: Option<&str>,
        agent_id: &str,
        status_name: &str,
        timestamp_ms: Option<i64>,
        principal_id: Option<String>,
        action: Option<String>,
        agent_did: Option<String>,
        grant_id: Option<String>,
        metadata_json: Option<&str>,
    ) -> PyResult<String> {
        let mut entry = AuditEntry::new(agent_id).status(status(status_name)?);
        if let Some(ms) = timestamp_ms {
            entry = entry.at(Timestamp::from_unix_millis(ms));
        }
        if let Some(principal_id) = principal_id {
            entry.principal_id = principal_id;
        }
        if let Some(action) = action {
            entry.action = action;
        }
        if let Some(agent_did) = agent_did {
            entry.agent_did = agent_did;
        }
        if let Some(grant_id) = grant_id {
            entry.grant_id = grant_id;
        }
        if let Some(text) = metadata_json {
            match serde_json::from_str(text) {
                Ok(serde_json::Value::Object(map)) => entry.metadata = map,
                Ok(_) => return Err(PyValueError::new_err("metadata must be a JSON object")),
                Err(e) => return Err(PyValueError::new_err(format!("invalid metadata: {e}"))),
            }
        }
        let key = self.key(api_key);
        self.with(|s| s.record_audit(key, entry))
    }

    #[pyo3(signature = (api_key, agent_id, principal_id, issued_at_ms))]
    fn record_grant(
        &self,
        api_key: Option<&str>,
        agent_id: &str,
        principal_id: &str,
        issued_at_ms: Option<i64>,
    ) -> PyResult<String> {
        let mut grant = Grant::new(agent_id, principal_id);
        if let Some(ms) = issued_at_ms {
            grant = grant.issued_at(Timestamp::from_unix_millis(ms));
        }
        let key = self.key(api_key);
        self.with(|s| s.record_grant(key, grant))
    }

    #[pyo3(signature = (api_key))]
    fn seed_demo(&self, api_key: Option<&str>) -> PyResult<()> {
        let key = self.key(api_key);
        self.with(|s| s.seed_demo(key))
    }

    /// Loads a fixture given as JSON text; returns (audit entries, grants) recorded.
    #[pyo3(signature = (api_key, fixture_json))]
    fn load_fixture(&self, api_key: Option<&str>, fixture_json: &str) -> PyResult<(usize, usize)> {
        let fixture: serde_json::Value = serde_json::from_str(fixture_json)
            .map_err(|e| PyValueError::new_err(format!("invalid fixture: {e}")))?;
        let key = self.key(api_key);
        let summary = self
            .with(|s| s.load_fixture(key, &fixture))?
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok((summary.audit_entries, summary.grants))
    }

    /// The account's stored anomalies, newest first, as dicts with the fields of
    /// `grantex.Anomaly` (`metadata` as JSON text, times as RFC 3339 strings).
    #[pyo3(signature = (api_key))]
    fn anomalies<'py>(
        &self,
        py: Python<'py>,
        api_key: Option<&str>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let key = self.key(api_key);
        let anomalies = self.with(|s| s.anomalies(key))?;
        anomalies
            .into_iter()
            .map(|a| {
                let dict = PyDict::new(py);
                dict.set_item("id", a.id)?;
                dict.set_item("type", a.kind)?;
                dict.set_item("severity", a.severity)?;
                dict.set_item("agent_id", a.agent_id)?;
                dict.set_item("principal_id", a.principal_id)?;
                dict.set_item("description", a.description)?;
                dict.set_item(
                    "metadata",
                    serde_json::Value::Object(a.metadata).to_string(),
                )?;
                dict.set_item("detected_at", a.detected_at.to_string())?;
                dict.set_item("acknowledged_at", a.acknowledged_at.map(|t| t.to_string()))?;
                Ok(dict)
            })
            .collect()
    }

    /// The server clock's now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> PyResult<i64> {
        self.with(|s| s.clock().now().unix_millis())
    }

    fn clock_frozen(&self) -> PyResult<bool> {
        self.with(|s| s.clock().is_frozen())
    }

    fn set_time_ms(&self, ms: i64) -> PyResult<()> {
        self.with(|s| s.clock().set(Timestamp::from_unix_millis(ms)))
    }

    fn shift_ms(&self, ms: i64) -> PyResult<()> {
        self.with(|s| s.clock().shift_millis(ms))
    }

    fn reset_clock(&self) -> PyResult<()> {
        self.with(|s| s.clock().reset())
    }

    /// Queues a fault; `action` is `status`, `delay`, `drop` or `malformed`.
    #[pyo3(signature = (action, times, method, path, status, body, retry_after, delay_ms))]
    #[allow(clippy::too_many_arguments)]
    fn inject_fault(
        &self,
        action: &str,
        times: u32,
        method: Option<String>,
        path: Option<String>,
        status: Option<u16>,
        body: Option<String>,
        retry_after: Option<u64>,
        delay_ms: Option<u64>,
    ) -> PyResult<()> {
        let action = match action {
            "status" => {
                let status = status
                    .filter(|s| (100..=999).contains(s))
                    .ok_or_else(|| PyValueError::new_err("status must be between 100 and 999"))?;
                FaultAction::Status {
                    status,
                    body,
                    retry_after,
                }
            }
            "delay" => FaultAction::Delay(Duration::from_millis(delay_ms.unwrap_or(0))),
            "drop" => FaultAction::Drop,
            "malformed" => FaultAction::MalformedBody,
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown fault action {other:?}"
                )))
            }
        };
        let mut fault = Fault::new(action).times(times);
        fault.method = method;
        fault.path = path;
        self.with(|s| s.inject_fault(fault))
    }

    fn clear_faults(&self) -> PyResult<()> {
        self.with(|s| s.clear_faults())
    }

    fn pending_faults(&self) -> PyResult<u64> {
        self.with(|s| s.pending_faults())
    }

    fn set_rate_limits(&self, name: &str) -> PyResult<()> {
        let limits = rate_limits(name)?;
        self.with(|s| s.set_rate_limits(limits))
    }

    /// Stops the server: no new connections, in-flight requests get up to 2 s, then the
    /// rest are closed. Waits (GIL released) until it has stopped. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        // A server started by the parent of a fork is only forgotten (`take`).
        if let Some(server) = self.server.take() {
            let runtime = runtime::get()?;
            py.detach(|| runtime.block_on(server.shutdown()));
        }
        Ok(())
    }

    fn __repr__(&self) -> String {
        let closed = if self.closed() { " closed" } else { "" };
        format!("<grantex._native.TestServer url={:?}{closed}>", self.url)
    }
}

/// Registers `TestServer` in `grantex._native`.
pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TestServer>()
}
