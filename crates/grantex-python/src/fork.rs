//! "Belongs to the process that built it": the one rule for everything the bindings hold
//! that has threads or sockets behind it (the runtime, a client's connection pool, the
//! local server).
//!
//! After `os.fork()` the child has none of the parent's threads: a value built in the
//! parent must not be used there (its connections are driven by threads that do not exist)
//! nor dropped (dropping could wait for those threads forever). So the child builds its
//! own, and the parent's is leaked.

use std::{
    process,
    sync::{Mutex, MutexGuard, PoisonError},
};

/// A value of the current process, rebuilt on first use after a fork.
pub(crate) struct ProcessLocal<T> {
    slot: Mutex<Option<(u32, T)>>,
}

impl<T> ProcessLocal<T> {
    pub(crate) const fn empty() -> Self {
        ProcessLocal {
            slot: Mutex::new(None),
        }
    }

    pub(crate) fn new(value: T) -> Self {
        ProcessLocal {
            slot: Mutex::new(Some((process::id(), value))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<(u32, T)>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on this process's value, building it first with `build` if there is none
    /// (first use, or first use after a fork: then the parent's value is leaked).
    pub(crate) fn with<R, E>(
        &self,
        build: impl FnOnce() -> Result<T, E>,
        f: impl FnOnce(&T) -> R,
    ) -> Result<R, E> {
        let pid = process::id();
        let mut slot = self.lock();
        if let Some((owner, _)) = &*slot {
            if *owner != pid {
                std::mem::forget(slot.take());
            }
        }
        if slot.is_none() {
            *slot = Some((pid, build()?));
        }
        let (_, value) = slot.as_ref().expect("just filled");
        Ok(f(value))
    }

    /// Runs `f` on this process's value, if it has one (never builds one).
    pub(crate) fn peek<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        match &*self.lock() {
            Some((owner, value)) if *owner == process::id() => Some(f(value)),
            _ => None,
        }
    }

    /// Runs `f` on the value, even one built before a fork (whose threads are gone, but
    /// whose state can still be read), if there is one.
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.lock().as_ref().map(|(_, value)| f(value))
    }

    /// Whether there is no value (never built, or taken).
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().is_none()
    }

    /// Takes this process's value out; a parent's is leaked, never dropped.
    pub(crate) fn take(&self) -> Option<T> {
        let taken = self.lock().take()?;
        if taken.0 == process::id() {
            Some(taken.1)
        } else {
            std::mem::forget(taken);
            None
        }
    }
}

impl<T> Drop for ProcessLocal<T> {
    fn drop(&mut self) {
        // A value built before a fork: leaked in the child (see the module documentation).
        if let Some((owner, _)) = &*self.lock() {
            if *owner != process::id() {
                std::mem::forget(self.lock().take());
            }
        }
    }
}
