use std::sync::Arc;

use gatehouse_application::{
    AccountRecovery, AuditService, AuthService, CatalogService, CreditService, DeviceService,
    HealthService, JobMonitor, PreRegistrationService, ProfileService, SecondFactors,
    SessionService, SigningKeys, TaskService, TokenService, UserAdminService, UserService,
};

/// The services the handlers call. Cheap to clone: every field is shared.
#[derive(Clone)]
pub struct AppState {
    /// Login, refresh, logout.
    pub auth: Arc<AuthService>,
    /// Token verification for the authenticated-user extractor.
    pub tokens: Arc<TokenService>,
    /// Accounts, for operator commands (create-superuser) and tests.
    pub users: Arc<UserService>,
    /// Dependency checks.
    pub health: Arc<HealthService>,
    /// Cookie sessions.
    pub sessions: Arc<SessionService>,
    /// Devices.
    pub devices: Arc<DeviceService>,
    /// The user directory and its administration.
    pub admin: Arc<UserAdminService>,
    /// The caller's profile, password, avatar.
    pub profiles: Arc<ProfileService>,
    /// Credits.
    pub credits: Arc<CreditService>,
    /// Pre-registrations.
    pub pre_registrations: Arc<PreRegistrationService>,
    /// Reading the audit log.
    pub audit: Arc<AuditService>,
    /// Background tasks.
    pub tasks: Arc<TaskService>,
    /// The job monitor (admins).
    pub jobs: Arc<JobMonitor>,
    /// Categories and products.
    pub catalog: Arc<CatalogService>,
    /// Second factors.
    pub factors: Arc<SecondFactors>,
    /// Email verification and password reset.
    pub recovery: Arc<AccountRecovery>,
    /// Cookie and origin settings.
    pub web: Arc<WebSettings>,
    /// `GET /metrics`.
    pub metrics: MetricsEndpoint,
    /// `GET /.well-known/jwks.json`.
    pub jwks: JwksEndpoint,
}

/// `GET /.well-known/jwks.json`: the published keys and how long verifiers may cache them.
#[derive(Clone)]
pub struct JwksEndpoint {
    /// The key ring's service; `None` for an HS256 deployment, which publishes no key.
    pub keys: Option<Arc<SigningKeys>>,
    /// `GATEHOUSE_JWKS_MAX_AGE`.
    pub max_age: std::time::Duration,
}

/// `GET /metrics`: what it serves, and the bearer token a scraper must present when the
/// operator set one (`GATEHOUSE_METRICS_TOKEN`).
#[derive(Clone)]
pub struct MetricsEndpoint {
    /// The exposition.
    pub exposition: Arc<dyn MetricsExposition>,
    /// `None`: open to anyone who reaches it (keep it off the public ingress).
    pub token: Option<secrecy::SecretString>,
}

/// The Prometheus text exposition of this process's metrics. The handlers only record
/// through the `metrics` facade; the binary owns the exporter and what it samples at scrape
/// time (pool use, job counters), and hands it over through this.
pub trait MetricsExposition: Send + Sync {
    /// The current text exposition (format 0.0.4).
    fn render(&self) -> String;
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            cookie_secure: false,
            cookie_max_age: std::time::Duration::from_secs(7 * 24 * 3600),
            trusted_origins: Vec::new(),
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            avatar_max_bytes: gatehouse_domain::Avatar::DEFAULT_MAX_BYTES,
        }
    }
}

/// How the HTTP layer treats browsers.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Mark cookies `Secure` (production, or `GATEHOUSE_COOKIE_SECURE=true`).
    pub cookie_secure: bool,
    /// Cookie lifetime: the sessions' absolute cap.
    pub cookie_max_age: std::time::Duration,
    /// Origins (`scheme://host[:port]`) besides the request's own host that may send
    /// cookie-authenticated unsafe requests: the public URL's origin and the CORS allow-list.
    pub trusted_origins: Vec<String>,
    /// Cross-origin browser clients allowed to call the API with credentials
    /// (`GATEHOUSE_CORS_ORIGINS`).
    pub cors_origins: Vec<String>,
    /// Proxies whose `X-Forwarded-For` is believed (`GATEHOUSE_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The largest avatar upload request, the whole body (`GATEHOUSE_AVATAR_MAX_BYTES`).
    pub avatar_max_bytes: usize,
}
