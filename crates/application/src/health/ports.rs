//! The health probe port: one per dependency the readiness check asks.

use async_trait::async_trait;

/// A dependency whose health `/health` reports (database, cache, ...).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// The name under which the check is reported, e.g. `database`.
    fn name(&self) -> &'static str;

    /// Succeeds when the dependency answers; the error says why not, for the logs.
    async fn check(&self) -> anyhow::Result<()>;
}
