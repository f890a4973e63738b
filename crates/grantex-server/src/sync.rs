//! Locking for the server's shared state.

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex even if a panicking thread poisoned it: the data behind the server's
/// locks is updated in single steps, so it stays consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
