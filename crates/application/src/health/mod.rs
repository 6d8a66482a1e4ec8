//! Readiness: asks every dependency whether it answers. Depends on `shared` only.

pub mod checks;
pub mod ports;

pub use checks::{HealthReport, HealthService};
