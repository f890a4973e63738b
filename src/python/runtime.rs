//! The one tokio runtime of the process: a single worker thread, on which every call and
//! every connection task runs (callers wait on a channel with the GIL released).
//!
//! It belongs to the process that built it: after `os.fork()` the child has none of its
//! threads, so the child builds its own and the parent's is leaked (never dropped: dropping
//! would wait for threads that do not exist in the child).

use std::sync::{Mutex, PoisonError};

use pyo3::{exceptions::PyRuntimeError, PyResult};
use tokio::runtime::Runtime;

static RUNTIME: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The runtime of the current process, built on first use.
pub(super) fn get() -> PyResult<&'static Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, runtime)) = *slot {
        if owner == pid {
            return Ok(runtime);
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("grantex-io")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("could not start the I/O runtime: {e}")))?;
    let runtime: &'static Runtime = Box::leak(Box::new(runtime));
    *slot = Some((pid, runtime));
    Ok(runtime)
}

/// Frees a decoded response with many anomalies on the runtime's worker (the thread that
/// allocated it) instead of the caller's, which is then free to return to Python sooner.
pub(super) fn drop_later<T: HasAnomalies + Send + 'static>(value: T) {
    if value.anomaly_count() < 64 {
        return drop(value);
    }
    match get() {
        Ok(runtime) => {
            runtime.spawn(async move { drop(value) });
        }
        Err(_) => drop(value),
    }
}

/// Responses that hold anomalies (how big they are to free).
pub(super) trait HasAnomalies {
    fn anomaly_count(&self) -> usize;
}

impl HasAnomalies for crate::models::ListAnomaliesResponse {
    fn anomaly_count(&self) -> usize {
        self.anomalies.len()
    }
}

impl HasAnomalies for crate::models::DetectAnomaliesResponse {
    fn anomaly_count(&self) -> usize {
        self.anomalies.len()
    }
}
