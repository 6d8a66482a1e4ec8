//! The clock port: the one source of "now", so tests can fix it.

use time::OffsetDateTime;

/// The current time. Injected so expiry rules can be tested without sleeping.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC.
    fn now(&self) -> OffsetDateTime;
}
