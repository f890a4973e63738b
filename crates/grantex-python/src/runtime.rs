//! The one tokio runtime of the process: a multi-thread runtime with a single worker
//! thread, which runs the connection tasks; each call's own future is polled by the calling
//! thread inside `block_on`, with the GIL released.
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
