//! The Python bindings: the private extension module `grantex._native`, wrapped by the pure
//! Python package in `python/grantex/` (which defines the public classes: dataclasses in
//! `_models.py`, exceptions in `_errors.py`, the `Grantex` shell in `_client.py`).
//!
//! - One process-wide tokio runtime ([`runtime`]) drives every call; the GIL is released for
//!   the whole round trip and re-taken every 100 ms only to check for Ctrl-C.
//! - Each operation is a thin method: the `grantex` client's call, then its result (a model
//!   of the `grantex` crate) converted generically into the Python dataclass of the same
//!   name ([`convert`]); errors go through one conversion ([`errors`]).
//! - Configuration is passed on as the user gave it: the defaults and the environment
//!   fallbacks are the Rust builder's.
//! - A client survives `os.fork()`: the runtime and each client's connection pool belong to
//!   the process that built them ([`fork`]), and are rebuilt (never reused) in a child.

/// The extension's Rust allocations go to mimalloc (as in pydantic-core): decoding a large
/// response makes many small ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod aio;
mod convert;
mod errors;
mod fork;
mod runtime;
mod testing;

use std::{
    future::Future,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use grantex::{Grantex, GrantexBuilder, ListAnomaliesParams};
use pyo3::{exceptions::PyValueError, prelude::*};
use serde::Serialize;

use errors::Failure;
use fork::ProcessLocal;

/// The native client behind `grantex.Grantex`. Safe to share between threads: each call
/// clones the Rust client (an `Arc`) and runs without holding any lock.
#[pyclass(frozen, module = "grantex._native", name = "Client")]
struct Client {
    /// What the client was built from, to build it again in a forked child.
    builder: GrantexBuilder,
    client: ProcessLocal<Grantex>,
    closed: AtomicBool,
    /// The normalized base URL (no trailing slash).
    base_url: String,
}

impl Client {
    /// The Rust client of this process.
    fn client(&self) -> Result<Grantex, Failure> {
        if self.closed.load(Ordering::Acquire) {
            return Err(errors::closed_error().into());
        }
        Ok(self
            .client
            .with(|| self.builder.clone().build(), Grantex::clone)?)
    }

    /// Runs one operation of the Rust client, then converts its result.
    fn call<'py, T, F, Fut>(
        &self,
        py: Python<'py>,
        operation: F,
    ) -> Result<Bound<'py, PyAny>, Failure>
    where
        T: Serialize + Send,
        F: FnOnce(Grantex) -> Fut,
        Fut: Future<Output = Result<T, grantex::Error>> + Send,
    {
        let result = block_on(py, operation(self.client()?))?;
        Ok(convert::to_python(py, &result)?)
    }

    /// Starts one operation of the Rust client as a task of the runtime; returns the
    /// `asyncio.Future` it completes ([`aio`]).
    fn start<'py, T, F, Fut>(
        &self,
        py: Python<'py>,
        operation: F,
    ) -> Result<Bound<'py, PyAny>, Failure>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(Grantex) -> Fut,
        Fut: Future<Output = Result<T, grantex::Error>> + Send + 'static,
    {
        Ok(aio::start(py, operation(self.client()?))?)
    }
}

#[pymethods]
impl Client {
    /// `None` leaves a setting to the Rust builder (its default, or the environment's).
    #[new]
    #[pyo3(signature = (*, api_key, base_url, timeout, max_retries, user_agent))]
    fn new(
        api_key: Option<String>,
        base_url: Option<String>,
        timeout: Option<f64>,
        max_retries: Option<i64>,
        user_agent: Option<String>,
    ) -> Result<Self, Failure> {
        let mut builder = Grantex::builder();
        if let Some(key) = api_key {
            builder = builder.api_key(key);
        }
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        if let Some(timeout) = timeout {
            let timeout = Duration::try_from_secs_f64(timeout)
                .ok()
                .filter(|t| !t.is_zero())
                .ok_or_else(|| {
                    PyValueError::new_err("timeout must be a positive, finite number of seconds")
                })?;
            builder = builder.timeout(timeout);
        }
        if let Some(retries) = max_retries {
            let retries = u32::try_from(retries).map_err(|_| {
                PyValueError::new_err("max_retries must be a non-negative integer below 2**32")
            })?;
            builder = builder.max_retries(retries);
        }
        if let Some(user_agent) = user_agent {
            builder = builder.user_agent(user_agent);
        }
        let client = builder.clone().build()?;
        Ok(Client {
            base_url: client.base_url().to_owned(),
            builder,
            client: ProcessLocal::new(client),
            closed: AtomicBool::new(false),
        })
    }

    /// `POST /v1/anomalies/detect` → `DetectAnomaliesResponse`.
    fn detect<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>, Failure> {
        self.call(py, |c| async move { c.anomalies().detect().await })
    }

    /// `GET /v1/anomalies[?unacknowledged=true]` → `ListAnomaliesResponse`.
    fn list<'py>(
        &self,
        py: Python<'py>,
        unacknowledged: bool,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let params = ListAnomaliesParams { unacknowledged };
        self.call(py, |c| async move { c.anomalies().list(params).await })
    }

    /// `PATCH /v1/anomalies/{id}/acknowledge` → `Anomaly`.
    fn acknowledge<'py>(
        &self,
        py: Python<'py>,
        anomaly_id: String,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.call(py, |c| async move {
            c.anomalies().acknowledge(&anomaly_id).await
        })
    }

    /// `detect`, as an `asyncio.Future` of the running loop.
    fn detect_async<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>, Failure> {
        self.start(py, |c| async move { c.anomalies().detect().await })
    }

    /// `list`, as an `asyncio.Future` of the running loop.
    fn list_async<'py>(
        &self,
        py: Python<'py>,
        unacknowledged: bool,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let params = ListAnomaliesParams { unacknowledged };
        self.start(py, |c| async move { c.anomalies().list(params).await })
    }

    /// `acknowledge`, as an `asyncio.Future` of the running loop.
    fn acknowledge_async<'py>(
        &self,
        py: Python<'py>,
        anomaly_id: String,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.start(py, |c| async move {
            c.anomalies().acknowledge(&anomaly_id).await
        })
    }

    /// The rate-limit headers of the last response (`RateLimit`), or None.
    fn last_rate_limit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let rate_limit = self.client.peek(Grantex::last_rate_limit).flatten();
        convert::to_python(py, &rate_limit)
    }

    /// Drops the connection pool; later calls raise `GrantexClosedError`. Idempotent.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        drop(self.client.take());
    }

    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    #[getter]
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn __repr__(&self) -> String {
        format!("<grantex._native.Client base_url={:?}>", self.base_url)
    }
}

/// Runs one call on the shared runtime with the GIL released for the whole round trip.
///
/// The call's future is polled by the calling thread inside `block_on` (the connection
/// tasks run on the runtime's worker); measured on loopback, this is faster than spawning
/// it on the worker and waiting on a channel. Every 100 ms the GIL is taken back briefly to
/// run Python's signal handlers, so Ctrl-C interrupts a waiting call: the request is dropped
/// (its connection closed) and the `KeyboardInterrupt` raised.
fn block_on<T: Send>(
    py: Python<'_>,
    call: impl Future<Output = Result<T, grantex::Error>> + Send,
) -> Result<T, Failure> {
    const SIGNAL_CHECK_EVERY: Duration = Duration::from_millis(100);
    let runtime = runtime::get()?;
    let outcome: PyResult<Result<T, grantex::Error>> = py.detach(|| {
        runtime.block_on(async {
            tokio::pin!(call);
            let start = tokio::time::Instant::now() + SIGNAL_CHECK_EVERY;
            let mut ticks = tokio::time::interval_at(start, SIGNAL_CHECK_EVERY);
            loop {
                tokio::select! {
                    biased;
                    result = &mut call => return Ok(result),
                    _ = ticks.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    });
    Ok(outcome??)
}

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The Rust client's defaults, shown in the Python signature (one place for both).
    m.add("DEFAULT_TIMEOUT", grantex::DEFAULT_TIMEOUT.as_secs_f64())?;
    m.add("DEFAULT_MAX_RETRIES", grantex::DEFAULT_MAX_RETRIES)?;
    m.add("DEFAULT_BASE_URL", grantex::DEFAULT_BASE_URL)?;
    m.add_class::<Client>()?;
    aio::register(m)?;
    testing::register(m)?;
    Ok(())
}
