//! The readiness check: every probe asked in turn, and a report saying which answered.

use std::sync::Arc;

use crate::health::ports::HealthProbe;

/// The state of every dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// Each probe by name, `true` when it answered.
    pub checks: Vec<(&'static str, bool)>,
}

impl HealthReport {
    /// Healthy when every dependency answered.
    pub fn is_healthy(&self) -> bool {
        self.checks.iter().all(|(_, up)| *up)
    }
}

/// Asks every configured dependency whether it is up.
pub struct HealthService {
    probes: Vec<Arc<dyn HealthProbe>>,
}

impl HealthService {
    /// A service over these probes.
    pub fn new(probes: Vec<Arc<dyn HealthProbe>>) -> Self {
        Self { probes }
    }

    /// Runs every probe; failures are logged with their cause and reported by name only.
    pub async fn check(&self) -> HealthReport {
        let mut checks = Vec::with_capacity(self.probes.len());
        for probe in &self.probes {
            let up = match probe.check().await {
                Ok(()) => true,
                Err(error) => {
                    tracing::warn!(dependency = probe.name(), error = %format!("{error:#}"), "health check failed");
                    false
                }
            };
            checks.push((probe.name(), up));
        }
        HealthReport { checks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::ports::MockHealthProbe;

    fn probe(name: &'static str, up: bool) -> Arc<dyn HealthProbe> {
        let mut probe = MockHealthProbe::new();
        probe.expect_name().return_const(name);
        probe.expect_check().returning(move || {
            if up {
                Ok(())
            } else {
                Err(anyhow::anyhow!("connection refused"))
            }
        });
        Arc::new(probe)
    }

    #[tokio::test]
    async fn unhealthy_when_any_probe_fails_and_names_it() {
        let service = HealthService::new(vec![probe("database", true), probe("cache", false)]);
        let report = service.check().await;
        assert!(!report.is_healthy());
        assert_eq!(report.checks, vec![("database", true), ("cache", false)]);
    }

    #[tokio::test]
    async fn healthy_when_all_answer() {
        let service = HealthService::new(vec![probe("database", true)]);
        assert!(service.check().await.is_healthy());
    }
}
