//! The one tokio runtime of the process: a multi-thread runtime with a single worker
//! thread, which runs the connection tasks; each call's own future is polled by the calling
//! thread inside `block_on`, with the GIL released. Rebuilt in a forked child
//! ([`ProcessLocal`]).

use pyo3::{exceptions::PyRuntimeError, PyResult};
use tokio::runtime::Runtime;

use crate::fork::ProcessLocal;

static RUNTIME: ProcessLocal<&'static Runtime> = ProcessLocal::empty();

/// The runtime of the current process, built on first use.
pub(crate) fn get() -> PyResult<&'static Runtime> {
    RUNTIME.with(
        || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("grantex-io")
                .enable_all()
                .build()
                .map_err(|e| {
                    PyRuntimeError::new_err(format!("could not start the I/O runtime: {e}"))
                })?;
            // Never dropped: a runtime lives as long as its process.
            Ok(&*Box::leak(Box::new(runtime)))
        },
        |runtime| *runtime,
    )
}
