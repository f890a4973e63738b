//! The Python bindings: the private extension module `grantex._native`, wrapped by the pure
//! Python package in `python/grantex/` (which defines the public classes: dataclasses in
//! `_models.py`, exceptions in `_errors.py`, the `Grantex` shell in `_client.py`).
//!
//! - One process-wide tokio runtime ([`runtime`]) drives every call; the GIL is released for
//!   the whole round trip and re-taken every 100 ms only to check for Ctrl-C.
//! - Results are built here, straight from the decoded Rust structs, as instances of the
//!   Python dataclasses ([`convert`]); errors go through one conversion ([`errors`]).
//! - A client survives `os.fork()`: the runtime and each client's connection pool belong to
//!   the process that built them, and are rebuilt (never reused) in a child.

/// The extension's Rust allocations go to mimalloc (as in pydantic-core): decoding a large
/// response makes many small ones. Only with the `python` feature: the plain Rust crate
/// leaves the allocator to the application.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod convert;
mod errors;
mod runtime;
mod testing;

use std::{
    future::Future,
    process,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use pyo3::{exceptions::PyValueError, prelude::*};

use grantex::{Error, Grantex};

/// What a client was built from, kept to build it again in a forked child.
struct Config {
    api_key: String,
    base_url: String,
    timeout: Duration,
    max_retries: u32,
    user_agent: String,
}

impl Config {
    fn build(&self) -> Result<Grantex, Error> {
        Grantex::builder()
            .api_key(self.api_key.as_str())
            .base_url(self.base_url.as_str())
            .timeout(self.timeout)
            .max_retries(self.max_retries)
            .user_agent(self.user_agent.as_str())
            .build()
    }
}

enum State {
    /// The client, and the process it was built in.
    Open {
        pid: u32,
        client: Grantex,
    },
    Closed,
}

/// The native client behind `grantex.Grantex`. Safe to share between threads: each call
/// clones the Rust client (an `Arc`) out of the lock and runs without holding it.
#[pyclass(frozen, module = "grantex._native", name = "Client")]
struct Client {
    config: Config,
    /// The normalized base URL (no trailing slash).
    base_url: String,
    state: Mutex<State>,
}

impl Client {
    /// The Rust client for this process; rebuilt from the stored configuration after a fork
    /// (the parent's pool and its connections must never be used in the child).
    fn client(&self, py: Python<'_>) -> PyResult<Grantex> {
        let pid = process::id();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *state {
            State::Closed => Err(errors::closed_error(py)),
            State::Open { pid: owner, client } => {
                if *owner != pid {
                    let fresh = self.config.build().map_err(|e| errors::to_pyerr(py, e))?;
                    // The old client's connections are driven by the parent's runtime, whose
                    // threads do not exist here: dropping them could wait on those threads.
                    std::mem::forget(std::mem::replace(client, fresh));
                    *owner = pid;
                }
                Ok(client.clone())
            }
        }
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (api_key, base_url, timeout, max_retries, user_agent))]
    fn new(
        py: Python<'_>,
        api_key: String,
        base_url: Option<String>,
        timeout: f64,
        max_retries: i64,
        user_agent: String,
    ) -> PyResult<Self> {
        let timeout = Duration::try_from_secs_f64(timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| {
                PyValueError::new_err("timeout must be a positive, finite number of seconds")
            })?;
        let max_retries = u32::try_from(max_retries).map_err(|_| {
            PyValueError::new_err("max_retries must be a non-negative integer below 2**32")
        })?;
        let mut config = Config {
            api_key,
            base_url: base_url.unwrap_or_default(),
            timeout,
            max_retries,
            user_agent,
        };
        if config.base_url.trim().is_empty() {
            config.base_url = grantex::DEFAULT_BASE_URL.to_owned();
        }
        let client = config.build().map_err(|e| errors::to_pyerr(py, e))?;
        Ok(Client {
            base_url: client.base_url().to_owned(),
            config,
            state: Mutex::new(State::Open {
                pid: process::id(),
                client,
            }),
        })
    }

    /// `POST /v1/anomalies/detect` → `DetectAnomaliesResponse`.
    fn detect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        let detected = block_on(py, async move { client.anomalies().detect().await })?;
        convert::detect(py, &detected)
    }

    /// `GET /v1/anomalies[?unacknowledged=true]` → `ListAnomaliesResponse`.
    fn list<'py>(&self, py: Python<'py>, unacknowledged: bool) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        let listed = block_on(py, async move {
            client
                .anomalies()
                .list(grantex::ListAnomaliesParams { unacknowledged })
                .await
        })?;
        convert::list(py, &listed)
    }

    /// `PATCH /v1/anomalies/{id}/acknowledge` → `Anomaly`.
    fn acknowledge<'py>(&self, py: Python<'py>, anomaly_id: String) -> PyResult<Bound<'py, PyAny>> {
        let client = self.client(py)?;
        let anomaly = block_on(py, async move {
            client.anomalies().acknowledge(&anomaly_id).await
        })?;
        convert::anomaly(py, convert::classes(py)?, &anomaly)
    }

    /// The rate-limit headers of the last response (`RateLimit`), or None.
    fn last_rate_limit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let rate_limit = match &*state {
            State::Open { client, .. } => client.last_rate_limit(),
            State::Closed => None,
        };
        drop(state);
        convert::rate_limit(py, rate_limit)
    }

    /// Drops the connection pool; later calls raise `GrantexClosedError`. Idempotent.
    fn close(&self) {
        let old = std::mem::replace(
            &mut *self.state.lock().unwrap_or_else(PoisonError::into_inner),
            State::Closed,
        );
        if let State::Open { pid, client } = old {
            if pid != process::id() {
                std::mem::forget(client);
            }
        }
    }

    #[getter]
    fn closed(&self) -> bool {
        matches!(
            *self.state.lock().unwrap_or_else(PoisonError::into_inner),
            State::Closed
        )
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
    call: impl Future<Output = Result<T, Error>> + Send,
) -> PyResult<T> {
    const SIGNAL_CHECK_EVERY: Duration = Duration::from_millis(100);
    let runtime = runtime::get()?;
    let outcome = py.detach(|| {
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
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(errors::to_pyerr(py, error)),
        Err(interrupted) => Err(interrupted),
    }
}

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<Client>()?;
    testing::register(m)?;
    Ok(())
}
