use std::sync::{Arc, Mutex};

/// State behind one mutex, for the in-memory adapters: each operation runs under the lock, so
/// each is atomic; none awaits while holding it.
#[derive(Debug, Default)]
pub(crate) struct Locked<T>(Mutex<T>);

impl<T> Locked<T> {
    /// Runs `f` on the state. A poisoned lock (a panic mid-update) is an error, not a panic.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> anyhow::Result<R> {
        let mut state = self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("in-memory store poisoned"))?;
        Ok(f(&mut state))
    }
}

/// State two adapters share (users and the credit ledger, categories and products), so a
/// rule that spans both is decided under one lock, as a database decides it in one
/// transaction.
pub(crate) type Shared<T> = Arc<Locked<T>>;
