//! The client's log events (target `grantex`, through the `log` crate) as records of
//! Python's `logging` logger `grantex`: `GRANTEX_LOG=info|debug` or the user's own
//! logging configuration decides what is shown.
//!
//! An event may come from the extension's I/O thread (asyncio calls), where taking the GIL
//! could wait for the event loop's thread: so each call, on entry (with the GIL), reads the
//! logger's effective level into an atomic, and an event below it costs no GIL at all. An
//! event that is shown takes the GIL only while the interpreter runs
//! ([`crate::aio::while_interpreter_runs`]). The events never hold the API key (see
//! `grantex::transport`).

use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::{intern, prelude::*, sync::PyOnceLock};

/// The Python logger's effective level, as last read (WARNING until then).
static THRESHOLD: AtomicU8 = AtomicU8::new(30);

struct PythonLogging;

static PYTHON_LOGGING: PythonLogging = PythonLogging;

/// `logging.getLogger("grantex")`, looked up once.
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

impl log::Log for PythonLogging {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "grantex"
            && python_level(metadata.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        crate::aio::while_interpreter_runs(|| {
            Python::attach(|py| {
                if let Err(e) = emit(py, record) {
                    // A logging failure must not fail the call that logged.
                    e.write_unraisable(py, None);
                }
            });
        });
    }

    fn flush(&self) {}
}

fn python_level(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 40,
        log::Level::Warn => 30,
        log::Level::Info => 20,
        log::Level::Debug => 10,
        log::Level::Trace => 5,
    }
}

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    let logger = LOGGER.get_or_try_init(py, || {
        Ok::<_, PyErr>(
            py.import(intern!(py, "logging"))?
                .call_method1(intern!(py, "getLogger"), ("grantex",))?
                .unbind(),
        )
    })?;
    Ok(logger.bind(py))
}

/// Reads the logger's effective level (on a call's entry, with the GIL). Without
/// `logging` imported, nobody configured it: the level stays as it was.
pub(crate) fn refresh(py: Python<'_>) {
    let loaded = py
        .import(intern!(py, "sys"))
        .and_then(|sys| sys.getattr(intern!(py, "modules")))
        .and_then(|modules| modules.contains(intern!(py, "logging")))
        .unwrap_or(false);
    if !loaded {
        return;
    }
    let level = logger(py)
        .and_then(|l| l.call_method0(intern!(py, "getEffectiveLevel")))
        .and_then(|level| level.extract::<i64>());
    if let Ok(level) = level {
        THRESHOLD.store(level.clamp(0, 255) as u8, Ordering::Relaxed);
    }
}

fn emit(py: Python<'_>, record: &log::Record<'_>) -> PyResult<()> {
    let logger = logger(py)?;
    let level = python_level(record.level());
    if logger
        .call_method1(intern!(py, "isEnabledFor"), (level,))?
        .is_truthy()?
    {
        logger.call_method1(intern!(py, "log"), (level, record.args().to_string()))?;
    }
    Ok(())
}

/// Installs the forwarding (once per process; a Rust application embedding Python that
/// set its own `log` logger keeps it).
pub(crate) fn register() {
    if log::set_logger(&PYTHON_LOGGING).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}
