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
mod logs;
mod runtime;
mod testing;

use std::{
    future::Future,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use grantex::{
    Grantex, GrantexBuilder, ListAlertsParams, ListAnomaliesParams, MetricsParams, NewAlertChannel,
    NewAnomalyRule, ResponseMode,
};
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
        logs::refresh(py);
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
        logs::refresh(py);
        Ok(aio::start(py, operation(self.client()?))?)
    }
}

/// The operations: each is written once, as the Rust client call it makes, and becomes a
/// blocking method (`detect`) and one returning an `asyncio.Future` (`detect_async`). The
/// arguments arrive as the Python layer passes them (`None` for a filter not given).
macro_rules! client_methods {
    (
        fixed { $($fixed:tt)* }
        $(
            $(#[doc = $doc:literal])*
            $name:ident / $name_async:ident ($($arg:ident: $ty:ty),*) => |$client:ident| $body:expr;
        )*
    ) => {
        #[pymethods]
        impl Client {
            $($fixed)*
            $(
                $(#[doc = $doc])*
                // The Python signatures mirror the documented keywords, one argument each.
                #[allow(clippy::too_many_arguments)]
                fn $name<'py>(
                    &self,
                    py: Python<'py>,
                    $($arg: $ty),*
                ) -> Result<Bound<'py, PyAny>, Failure> {
                    self.call(py, move |$client| async move { $body })
                }

                $(#[doc = $doc])*
                #[allow(clippy::too_many_arguments)]
                fn $name_async<'py>(
                    &self,
                    py: Python<'py>,
                    $($arg: $ty),*
                ) -> Result<Bound<'py, PyAny>, Failure> {
                    self.start(py, move |$client| async move { $body })
                }
            )*
        }
    };
}

client_methods! {
    fixed {
    /// `None` leaves a setting to the Rust builder (its default, or the environment's).
    #[new]
    #[pyo3(signature = (
        *, api_key, base_url, timeout, max_retries, user_agent, max_retry_after=None, proxy=None,
        ca_file=None, deadline=None, max_response_bytes=None
    ))]
    #[allow(clippy::too_many_arguments)] // one per keyword of the Python constructor
    fn new(
        api_key: Option<String>,
        base_url: Option<String>,
        timeout: Option<f64>,
        max_retries: Option<i64>,
        user_agent: Option<String>,
        max_retry_after: Option<f64>,
        proxy: Option<String>,
        ca_file: Option<std::path::PathBuf>,
        deadline: Option<f64>,
        max_response_bytes: Option<u64>,
    ) -> Result<Self, Failure> {
        let mut builder = Grantex::builder();
        if let Some(key) = api_key {
            builder = builder.api_key(key);
        }
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        if let Some(timeout) = timeout {
            builder = builder.timeout(seconds("timeout", timeout)?);
        }
        if let Some(retries) = max_retries {
            builder = builder.max_retries(retry_count(retries)?);
        }
        if let Some(wait) = max_retry_after {
            builder = builder.max_retry_after(seconds("max_retry_after", wait)?);
        }
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy);
        }
        if let Some(path) = ca_file {
            builder = builder.ca_file(path);
        }
        if let Some(user_agent) = user_agent {
            builder = builder.user_agent(user_agent);
        }
        if let Some(deadline) = deadline {
            builder = builder.deadline(seconds("deadline", deadline)?);
        }
        if let Some(limit) = max_response_bytes {
            builder = builder.max_response_bytes(limit);
        }
        let client = builder.clone().build()?;
        Ok(Client {
            base_url: client.base_url().to_owned(),
            builder,
            client: ProcessLocal::new(client),
            closed: AtomicBool::new(false),
        })
    }

    /// A client with other options on the same connection pool (`None`: unchanged).
    #[pyo3(signature = (
        *, timeout=None, max_retries=None, max_retry_after=None, deadline=None,
        max_response_bytes=None
    ))]
    fn with_options(
        &self,
        timeout: Option<f64>,
        max_retries: Option<i64>,
        max_retry_after: Option<f64>,
        deadline: Option<f64>,
        max_response_bytes: Option<u64>,
    ) -> Result<Client, Failure> {
        let mut builder = self.builder.clone();
        let mut client = self.client()?;
        if let Some(timeout) = timeout {
            let timeout = seconds("timeout", timeout)?;
            builder = builder.timeout(timeout);
            client = client.with_timeout(timeout)?;
        }
        if let Some(retries) = max_retries {
            let retries = retry_count(retries)?;
            builder = builder.max_retries(retries);
            client = client.with_max_retries(retries);
        }
        if let Some(wait) = max_retry_after {
            let wait = seconds("max_retry_after", wait)?;
            builder = builder.max_retry_after(wait);
            client = client.with_max_retry_after(wait);
        }
        if let Some(deadline) = deadline {
            let deadline = seconds("deadline", deadline)?;
            builder = builder.deadline(deadline);
            client = client.with_deadline(deadline)?;
        }
        if let Some(limit) = max_response_bytes {
            builder = builder.max_response_bytes(limit);
            client = client.with_max_response_bytes(limit);
        }
        Ok(Client {
            base_url: self.base_url.clone(),
            builder,
            client: ProcessLocal::new(client),
            closed: AtomicBool::new(false),
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

    /// `POST /v1/anomalies/detect` → `DetectAnomaliesResponse`.
    detect / detect_async() => |c| c.anomalies().detect().await;
    /// `GET /v1/anomalies[?unacknowledged=true]` → `ListAnomaliesResponse`.
    list / list_async(unacknowledged: bool) => |c| {
        c.anomalies().list(ListAnomaliesParams { unacknowledged }).await
    };
    /// `PATCH /v1/anomalies/{id}/acknowledge` → `Anomaly`.
    acknowledge / acknowledge_async(anomaly_id: String) => |c| {
        c.anomalies().acknowledge(&anomaly_id).await
    };
    /// `GET /v1/anomaly/alerts` → `tuple[Alert, ...]`.
    list_alerts / list_alerts_async(
        status: Option<String>,
        severity: Option<String>,
        agent_id: Option<String>,
        limit: Option<i64>
    ) => |c| {
        let params = ListAlertsParams { status, severity, agent_id, limit };
        c.anomalies().list_alerts(params).await
    };
    /// `GET /v1/anomaly/alerts/{alertId}` → `Alert`.
    get_alert / get_alert_async(alert_id: String) => |c| {
        c.anomalies().get_alert(&alert_id).await
    };
    /// `POST /v1/anomaly/alerts/{alertId}/acknowledge` → `Alert`.
    acknowledge_alert / acknowledge_alert_async(alert_id: String, note: Option<String>) => |c| {
        c.anomalies().acknowledge_alert(&alert_id, note.as_deref()).await
    };
    /// `POST /v1/anomaly/alerts/{alertId}/resolve` → `Alert`.
    resolve_alert / resolve_alert_async(alert_id: String, note: Option<String>) => |c| {
        c.anomalies().resolve_alert(&alert_id, note.as_deref()).await
    };
    /// `GET /v1/anomaly/metrics` → `AnomalyMetrics`.
    get_metrics / get_metrics_async(window: Option<String>, agent_id: Option<String>) => |c| {
        c.anomalies().metrics(MetricsParams { window, agent_id }).await
    };
    /// `GET /v1/anomaly/rules` → `tuple[AnomalyRule, ...]`.
    list_rules / list_rules_async() => |c| c.anomalies().list_rules().await;
    /// `POST /v1/anomaly/rules` → `AnomalyRule`; `condition_json` is the condition's JSON.
    create_rule / create_rule_async(
        rule_id: String,
        name: String,
        description: Option<String>,
        condition_json: Option<String>,
        severity: Option<String>,
        channels: Vec<String>
    ) => |c| {
        let rule = NewAnomalyRule {
            rule_id,
            name,
            description,
            condition: json_object("condition", condition_json)?,
            severity,
            alert_channels: channels,
        };
        c.anomalies().create_rule(rule).await
    };
    /// `PATCH /v1/anomaly/rules/{id}` (the rule looked up by `rule_id`) → `AnomalyRule`.
    toggle_rule / toggle_rule_async(rule_id: String, enabled: bool) => |c| {
        c.anomalies().toggle_rule(&rule_id, enabled).await
    };
    /// `DELETE /v1/anomaly/rules/{id}` (the rule looked up by `rule_id`) → None.
    delete_rule / delete_rule_async(rule_id: String) => |c| {
        c.anomalies().delete_rule(&rule_id).await
    };
    /// `GET /v1/anomaly/channels` → `tuple[AlertChannel, ...]`.
    list_channels / list_channels_async() => |c| c.anomalies().list_channels().await;
    /// `POST /v1/anomaly/channels` → `AlertChannel`; `config_json` is the config's JSON.
    create_channel / create_channel_async(
        type_: String,
        name: String,
        config_json: Option<String>,
        severities: Option<Vec<String>>
    ) => |c| {
        let channel = NewAlertChannel {
            type_,
            name,
            config: json_object("config", config_json)?.unwrap_or_default(),
            severities,
        };
        c.anomalies().create_channel(channel).await
    };
    /// `DELETE /v1/anomaly/channels/{id}` → None.
    delete_channel / delete_channel_async(channel_id: String) => |c| {
        c.anomalies().delete_channel(&channel_id).await
    };
    /// `GET /v1/irregularities/response-policy` → the mode.
    get_response_policy / get_response_policy_async() => |c| {
        c.anomalies().response_policy().await
    };
    /// `PATCH /v1/irregularities/response-policy` → the mode now in force.
    set_response_policy / set_response_policy_async(mode: String) => |c| {
        let mode: ResponseMode = mode.parse()?;
        c.anomalies().set_response_policy(mode).await
    };
}

/// Seconds from Python as a duration: finite and not negative (a zero timeout is refused by
/// the Rust builder).
fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must be a non-negative, finite number of seconds"
        ))
    })
}

fn retry_count(value: i64) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| {
        PyValueError::new_err("max_retries must be a non-negative integer below 2**32")
    })
}

/// A JSON object given as JSON text by the Python layer (`None` when not given).
fn json_object(
    name: &str,
    json: Option<String>,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>, grantex::Error> {
    json.map(|text| {
        serde_json::from_str(&text).map_err(|e| {
            grantex::Error::InvalidArgument(format!("{name} must be a JSON object: {e}"))
        })
    })
    .transpose()
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
    m.add(
        "DEFAULT_MAX_RETRY_AFTER",
        grantex::DEFAULT_MAX_RETRY_AFTER.as_secs_f64(),
    )?;
    m.add(
        "DEFAULT_MAX_RESPONSE_BYTES",
        grantex::DEFAULT_MAX_RESPONSE_BYTES,
    )?;
    m.add("DEFAULT_BASE_URL", grantex::DEFAULT_BASE_URL)?;
    m.add_class::<Client>()?;
    aio::register(m)?;
    logs::register();
    testing::register(m)?;
    Ok(())
}
