//! The Gatehouse service: configuration, telemetry, and the composition root that picks
//! adapters from configuration and wires them into the HTTP application.

pub mod config;
pub mod healthcheck;
pub mod import_django;
pub mod keys;
pub mod metrics;
pub mod seed;
pub mod startup;
pub mod telemetry;

pub use config::{Config, ConfigError, Environment};
pub use startup::{Application, Components};
