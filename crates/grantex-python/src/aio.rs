//! The asyncio bridge: a call runs as a task on the extension's tokio runtime and completes
//! an `asyncio.Future` of the caller's event loop. No Python thread per call, and the event
//! loop never blocks on I/O.
//!
//! - **Completion** happens on the loop's thread: the task hands its Rust result to
//!   `loop.call_soon_threadsafe`, and the callback converts it to Python objects (or the
//!   exception) and sets it on the future, unless the future was cancelled meanwhile.
//! - **Cancellation**: cancelling the future (a cancelled task, `asyncio.wait_for` running
//!   out, Ctrl-C in `asyncio.run`) aborts the tokio task, which drops the request and closes
//!   its connection.
//! - **Interpreter exit**: a task that finishes while the interpreter shuts down must not
//!   touch Python (that is what makes bridges crash at exit). An `atexit` hook closes the
//!   gate below; a completion holds the gate open while it hands its result over, so the
//!   hook waits (with the GIL released) for one in progress, and later ones are dropped
//!   without touching Python.

use std::{
    future::Future,
    sync::{Mutex, PoisonError, RwLock},
};

use pyo3::{intern, prelude::*, types::PyCFunction};
use serde::Serialize;

use crate::{convert, errors::Failure, runtime};

/// Open while the interpreter runs; closed by the `atexit` hook.
static INTERPRETER_RUNNING: RwLock<bool> = RwLock::new(true);

/// Runs `call` on the runtime; returns the `asyncio.Future` of the running loop that it
/// completes.
pub(crate) fn start<'py, T, Fut>(py: Python<'py>, call: Fut) -> PyResult<Bound<'py, PyAny>>
where
    T: Serialize + Send + 'static,
    Fut: Future<Output = Result<T, grantex::Error>> + Send + 'static,
{
    let event_loop = py
        .import(intern!(py, "asyncio"))?
        .call_method0(intern!(py, "get_running_loop"))?;
    let future = event_loop.call_method0(intern!(py, "create_future"))?;
    let runtime = runtime::get()?;

    let (loop_ref, future_ref) = (event_loop.unbind(), future.clone().unbind());
    let task = runtime.spawn(async move {
        let result = call.await;
        complete(loop_ref, future_ref, result);
    });

    // Cancelling the future aborts the request.
    let abort = task.abort_handle();
    let on_done = PyCFunction::new_closure(py, None, None, move |args, _kwargs| {
        let future = args.get_item(0)?;
        if future
            .call_method0(intern!(args.py(), "cancelled"))?
            .is_truthy()?
        {
            abort.abort();
        }
        PyResult::Ok(())
    })?;
    future.call_method1(intern!(py, "add_done_callback"), (on_done,))?;
    Ok(future)
}

/// Hands a finished call's result to its event loop (on the runtime's thread).
fn complete<T: Serialize + Send + 'static>(
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
    result: Result<T, grantex::Error>,
) {
    let gate = INTERPRETER_RUNNING
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    if !*gate {
        // The interpreter is shutting down: leave Python alone, references included.
        std::mem::forget((event_loop, future, result));
        return;
    }
    Python::attach(|py| {
        let payload = Mutex::new(Some((future, result)));
        let deliver = PyCFunction::new_closure(py, None, None, move |args, _kwargs| {
            let taken = payload
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some((future, result)) = taken {
                set_outcome(args.py(), future.bind(args.py()), result)?;
            }
            PyResult::Ok(())
        });
        let scheduled = deliver.and_then(|deliver| {
            event_loop.call_method1(py, intern!(py, "call_soon_threadsafe"), (deliver,))
        });
        // A loop that was closed meanwhile (its `asyncio.run` ended) has no one waiting.
        drop(scheduled);
    });
    drop(gate);
}

/// Sets the result or the exception, on the loop's thread; a cancelled future is left as
/// it is.
fn set_outcome<T: Serialize>(
    py: Python<'_>,
    future: &Bound<'_, PyAny>,
    result: Result<T, grantex::Error>,
) -> PyResult<()> {
    if future.call_method0(intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    let outcome = match result {
        Ok(value) => convert::to_python(py, &value).map_err(Failure::from),
        Err(error) => Err(Failure::from(error)),
    };
    match outcome {
        Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
        Err(failure) => {
            let error = PyErr::from(failure);
            future.call_method1(intern!(py, "set_exception"), (error.value(py),))?
        }
    };
    Ok(())
}

/// Runs `f` (which may take the GIL) unless the interpreter is shutting down; a shutdown
/// waits for it (the same gate as completions).
pub(crate) fn while_interpreter_runs(f: impl FnOnce()) {
    let gate = INTERPRETER_RUNNING
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    if *gate {
        f();
    }
}

/// The `atexit` hook: from now on, finished calls leave Python alone. Waits, with the GIL
/// released, for a completion that is handing its result over.
#[pyfunction]
pub(crate) fn _interpreter_exiting(py: Python<'_>) {
    py.detach(|| {
        *INTERPRETER_RUNNING
            .write()
            .unwrap_or_else(PoisonError::into_inner) = false;
    });
}

/// Registers the `atexit` hook.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(_interpreter_exiting, m)?;
    m.add_function(hook.clone())?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
