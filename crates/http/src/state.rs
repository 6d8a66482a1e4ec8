use std::sync::Arc;

use gatehouse_application::{AuthService, HealthService, TokenService, UserService};

/// The services the handlers call. Cheap to clone: every field is shared.
#[derive(Clone)]
pub struct AppState {
    /// Login, refresh, logout.
    pub auth: Arc<AuthService>,
    /// Token verification for the authenticated-user extractor.
    pub tokens: Arc<TokenService>,
    /// Registration and accounts.
    pub users: Arc<UserService>,
    /// Dependency checks.
    pub health: Arc<HealthService>,
}
