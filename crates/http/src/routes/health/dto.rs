//! Health report bodies.

use serde::Serialize;
use utoipa::ToSchema;

/// One dependency in `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckStatus {
    /// `ok` or `unavailable`.
    pub status: &'static str,
}

/// `/health`, `/health/live`, `/health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `unhealthy`.
    pub status: &'static str,
    /// By dependency name (`database`, `cache`).
    #[schema(value_type = Object)]
    pub checks: std::collections::BTreeMap<&'static str, CheckStatus>,
}
