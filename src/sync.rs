//! Locks shared by workers.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `m`. A poisoned lock only means another worker panicked mid-update; the data stays
/// usable, so work goes on rather than failing every later event.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
