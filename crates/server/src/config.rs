//! Configuration: read once from the environment (and `.env`), validated into typed values.
//! A bad value stops the process with a message naming the variable.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

/// Where the service runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local work: generated secrets allowed, text logs.
    Development,
    /// Real deployments: real secret, PostgreSQL and Redis required; JSON logs.
    Production,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the job queue keeps its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStore {
    /// Tables in the app's own database (SQLite or PostgreSQL).
    Database,
    /// Lists and sets in Redis (`GATEHOUSE_REDIS_URL`), under `GATEHOUSE_REDIS_PREFIX`.
    Redis,
}

/// A configuration variable with a bad value.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub variable: &'static str,
    /// What is wrong with it.
    pub message: String,
}

fn error(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `GATEHOUSE_ADDR`.
    pub addr: SocketAddr,
    /// `GATEHOUSE_WORKER_ADDR`: where `gatehouse worker` answers `/health/live` and
    /// `/metrics`.
    pub worker_addr: SocketAddr,
    /// `GATEHOUSE_DATABASE_URL`.
    pub database_url: String,
    /// `GATEHOUSE_REDIS_URL`; `None`: in-memory stores.
    pub redis_url: Option<String>,
    /// `GATEHOUSE_REDIS_PREFIX`: prefix of every Redis key.
    pub redis_prefix: String,
    /// `GATEHOUSE_MEDIA_DIR`: where uploaded avatars are stored (default `media`).
    pub media_dir: std::path::PathBuf,
    /// `GATEHOUSE_PUBLIC_URL`: base of links in emails.
    pub public_url: String,
    /// `GATEHOUSE_JWT_SECRET`; `None`: a random one per start (development only).
    pub jwt_secret: Option<SecretString>,
    /// `GATEHOUSE_METRICS_TOKEN`: when set, `/metrics` wants it as a bearer token.
    pub metrics_token: Option<SecretString>,
    /// `GATEHOUSE_JWT_VERIFY_ONLY_SECRETS`: comma-separated keys that verify tokens but never
    /// sign them (key rotation).
    pub jwt_verify_only: Vec<SecretString>,
    /// `GATEHOUSE_ACCESS_TOKEN_TTL` (seconds).
    pub access_token_ttl: Duration,
    /// `GATEHOUSE_REFRESH_TOKEN_TTL` (seconds).
    pub refresh_token_ttl: Duration,
    /// `GATEHOUSE_REFRESH_ABSOLUTE_TTL` (seconds): a refresh family's whole life from its
    /// login; rotation never extends it.
    pub refresh_absolute_ttl: Duration,
    /// `GATEHOUSE_REFRESH_REUSE_GRACE` (seconds).
    pub refresh_reuse_grace: Duration,
    /// `GATEHOUSE_SESSION_TTL` (seconds of inactivity).
    pub session_ttl: Duration,
    /// `GATEHOUSE_SESSION_ABSOLUTE_TTL` (seconds since login).
    pub session_absolute_ttl: Duration,
    /// `GATEHOUSE_COOKIE_SECURE`, forced on in production.
    pub cookie_secure: bool,
    /// `GATEHOUSE_CORS_ORIGINS`: comma-separated origins trusted for browser requests.
    pub cors_origins: Vec<String>,
    /// `GATEHOUSE_TRUSTED_PROXIES`: addresses or CIDRs whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT` (per `GATEHOUSE_LOGIN_FAILURE_WINDOW`).
    pub login_failures_per_account: u32,
    /// `GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS` (per `GATEHOUSE_LOGIN_FAILURE_WINDOW`).
    pub login_failures_per_address: u32,
    /// `GATEHOUSE_LOGIN_FAILURE_WINDOW` (seconds).
    pub login_failure_window: Duration,
    /// `GATEHOUSE_REGISTRATIONS_PER_ADDRESS` (per 15 minutes).
    pub registrations_per_address: u32,
    /// `GATEHOUSE_REFRESHES_PER_ADDRESS` (per 15 minutes).
    pub refreshes_per_address: u32,
    /// `GATEHOUSE_PASSWORD_RESETS_PER_ADDRESS`: forgot-password requests per 15 minutes.
    pub password_resets_per_address: u32,
    /// `GATEHOUSE_VERIFICATION_RESENDS_PER_ADDRESS`: resend requests per 15 minutes.
    pub verification_resends_per_address: u32,
    /// `GATEHOUSE_RESET_EMAILS_PER_DAY`: reset emails to one address per day.
    pub reset_emails_per_day: u32,
    /// `GATEHOUSE_TASKS_MAX_OPEN`: unfinished tasks per user.
    pub tasks_max_open: u32,
    /// `GATEHOUSE_TASKS_PER_HOUR`: tasks created per user per hour.
    pub tasks_per_hour: u32,
    /// `GATEHOUSE_JOB_CONCURRENCY`: jobs one worker runs at once, per lane (emails, tasks).
    pub job_concurrency: usize,
    /// `GATEHOUSE_AVATAR_MAX_BYTES`: the whole avatar upload request, in bytes.
    pub avatar_max_bytes: usize,
    /// `GATEHOUSE_AUDIT_RETENTION_DAYS`: audit events older than this are pruned.
    pub audit_retention: Duration,
    /// `GATEHOUSE_AUDIT_PRUNE_INTERVAL` (seconds): how often workers prune the audit log.
    pub audit_prune_interval: Duration,
    /// `GATEHOUSE_BCRYPT_COST`.
    pub bcrypt_cost: u32,
    /// `GATEHOUSE_HASH_CONCURRENCY`: bcrypt hashes run at once.
    pub hash_concurrency: usize,
    /// `GATEHOUSE_DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// `GATEHOUSE_WORKERS`: HTTP worker threads.
    pub http_workers: usize,
    /// `GATEHOUSE_SMTP_URL`; `None`: emails become `.eml` files in `mail_dir`.
    pub smtp_url: Option<String>,
    /// `GATEHOUSE_MAIL_FROM`.
    pub mail_from: String,
    /// `GATEHOUSE_MAIL_DIR`: where the development mailer writes (default `mail`).
    pub mail_dir: std::path::PathBuf,
    /// `GATEHOUSE_VERIFICATION_TOKEN_TTL`.
    pub verification_token_ttl: Duration,
    /// `GATEHOUSE_RESET_TOKEN_TTL`.
    pub reset_token_ttl: Duration,
    /// `GATEHOUSE_JOB_MAX_ATTEMPTS`: runs per job, the first included.
    pub job_max_attempts: u32,
    /// `GATEHOUSE_JOB_BACKOFF_MS`: delay before the first retry (doubling after).
    pub job_backoff: Duration,
    /// `GATEHOUSE_JOB_HEARTBEAT`: worker heartbeat interval; two missed ones and the
    /// worker's jobs are re-queued.
    pub job_heartbeat: Duration,
    /// `GATEHOUSE_TASK_STEP_MS`: one step of a `long_running` task.
    pub task_step: Duration,
    /// `GATEHOUSE_JOB_STORE`: where queued jobs wait (default: the database).
    pub job_store: JobStore,
    /// `GATEHOUSE_EMBEDDED_WORKER`: `serve` also runs a job worker (default: on in
    /// development, off in production, where `gatehouse worker` runs them).
    pub embedded_worker: bool,
    /// `GATEHOUSE_ENV`.
    pub environment: Environment,
    /// `GATEHOUSE_LOG_FORMAT`.
    pub log_format: LogFormat,
}

/// Shortest accepted JWT secret, in bytes (HS256 wants at least its output size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest accepted duration setting: ten years, in seconds.
pub const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// Shortest accepted metrics token, in bytes.
pub const MIN_METRICS_TOKEN_BYTES: usize = 16;

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let seconds = |name: &'static str, default: u64| -> Result<Duration, ConfigError> {
            match get(name) {
                None => Ok(Duration::from_secs(default)),
                // At most ten years: every lifetime is added to "now", which must stay a date.
                Some(raw) => raw
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0 || name == "GATEHOUSE_REFRESH_REUSE_GRACE")
                    .filter(|s| *s <= MAX_SECONDS)
                    .map(Duration::from_secs)
                    .ok_or_else(|| {
                        error(
                            name,
                            format!(
                                "expected a whole number of seconds up to {MAX_SECONDS}, got {raw:?}"
                            ),
                        )
                    }),
            }
        };
        let number = |name: &'static str,
                      default: usize,
                      range: std::ops::RangeInclusive<usize>| match get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| error(name, format!("expected a number in {range:?}, got {raw:?}"))),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

        let environment = match get("GATEHOUSE_ENV").as_deref() {
            None | Some("development") | Some("dev") | Some("test") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => {
                return Err(error(
                    "GATEHOUSE_ENV",
                    format!("expected development or production, got {other:?}"),
                ));
            }
        };
        let log_format = match get("GATEHOUSE_LOG_FORMAT").as_deref() {
            None if environment == Environment::Production => LogFormat::Json,
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(error(
                    "GATEHOUSE_LOG_FORMAT",
                    format!("expected text or json, got {other:?}"),
                ));
            }
        };
        let socket = |name: &'static str, default: &str| -> Result<SocketAddr, ConfigError> {
            let raw = get(name).unwrap_or_else(|| default.into());
            raw.parse()
                .map_err(|_| error(name, format!("expected host:port, got {raw:?}")))
        };
        let addr = socket("GATEHOUSE_ADDR", "127.0.0.1:8000")?;
        let worker_addr = socket("GATEHOUSE_WORKER_ADDR", "127.0.0.1:8001")?;
        let database_url = get("GATEHOUSE_DATABASE_URL")
            .unwrap_or_else(|| "sqlite://gatehouse.db?mode=rwc".into());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(error(
                "GATEHOUSE_DATABASE_URL",
                "expected a sqlite:// or postgres:// URL",
            ));
        }
        let redis_url = get("GATEHOUSE_REDIS_URL");
        if redis_url
            .as_deref()
            .is_some_and(|url| !(url.starts_with("redis://") || url.starts_with("rediss://")))
        {
            return Err(error(
                "GATEHOUSE_REDIS_URL",
                "expected a redis:// or rediss:// URL",
            ));
        }
        let long_enough = |name: &'static str, value: &str, min: usize| {
            if value.len() < min {
                return Err(error(name, format!("must be at least {min} bytes")));
            }
            Ok(SecretString::from(value.to_owned()))
        };
        let jwt_secret = get("GATEHOUSE_JWT_SECRET")
            .map(|key| long_enough("GATEHOUSE_JWT_SECRET", &key, MIN_SECRET_BYTES))
            .transpose()?;
        let jwt_verify_only = get("GATEHOUSE_JWT_VERIFY_ONLY_SECRETS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(|key| long_enough("GATEHOUSE_JWT_VERIFY_ONLY_SECRETS", key, MIN_SECRET_BYTES))
            .collect::<Result<Vec<_>, _>>()?;
        let metrics_token = get("GATEHOUSE_METRICS_TOKEN")
            .map(|token| long_enough("GATEHOUSE_METRICS_TOKEN", &token, MIN_METRICS_TOKEN_BYTES))
            .transpose()?;
        let bcrypt_cost = number("GATEHOUSE_BCRYPT_COST", 12, 4..=31)? as u32;
        let cookie_secure = match get("GATEHOUSE_COOKIE_SECURE").as_deref() {
            None => environment == Environment::Production,
            Some("true") | Some("1") => true,
            Some("false") | Some("0") => environment == Environment::Production,
            Some(other) => {
                return Err(error(
                    "GATEHOUSE_COOKIE_SECURE",
                    format!("expected true or false, got {other:?}"),
                ));
            }
        };
        let embedded_worker = match get("GATEHOUSE_EMBEDDED_WORKER").as_deref() {
            None => environment == Environment::Development,
            Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(other) => {
                return Err(error(
                    "GATEHOUSE_EMBEDDED_WORKER",
                    format!("expected true or false, got {other:?}"),
                ));
            }
        };
        let job_store = match get("GATEHOUSE_JOB_STORE").as_deref() {
            None | Some("database") => JobStore::Database,
            Some("redis") if redis_url.is_some() => JobStore::Redis,
            Some("redis") => {
                return Err(error(
                    "GATEHOUSE_JOB_STORE",
                    "redis needs GATEHOUSE_REDIS_URL",
                ));
            }
            Some(other) => {
                return Err(error(
                    "GATEHOUSE_JOB_STORE",
                    format!("expected database or redis, got {other:?}"),
                ));
            }
        };
        let millis = |name: &'static str, default: usize| {
            number(name, default, 1..=3_600_000).map(|ms| Duration::from_millis(ms as u64))
        };
        let mut trusted_proxies = Vec::new();
        for entry in get("GATEHOUSE_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
        {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let net = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    error(
                        "GATEHOUSE_TRUSTED_PROXIES",
                        format!("expected IP addresses or CIDR ranges, got {entry:?}"),
                    )
                })?;
            trusted_proxies.push(net);
        }
        let mut cors_origins = Vec::new();
        for origin in get("GATEHOUSE_CORS_ORIGINS").unwrap_or_default().split(',') {
            let origin = origin.trim().trim_end_matches('/');
            if origin.is_empty() {
                continue;
            }
            if !(origin.starts_with("http://") || origin.starts_with("https://")) || origin == "*" {
                return Err(error(
                    "GATEHOUSE_CORS_ORIGINS",
                    format!("expected scheme://host[:port] origins, got {origin:?}"),
                ));
            }
            cors_origins.push(origin.to_owned());
        }

        let config = Config {
            addr,
            worker_addr,
            database_url,
            redis_url,
            redis_prefix: get("GATEHOUSE_REDIS_PREFIX").unwrap_or_else(|| "gatehouse:".into()),
            media_dir: get("GATEHOUSE_MEDIA_DIR")
                .unwrap_or_else(|| "media".into())
                .into(),
            public_url: get("GATEHOUSE_PUBLIC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8000".into()),
            jwt_secret,
            jwt_verify_only,
            metrics_token,
            access_token_ttl: seconds("GATEHOUSE_ACCESS_TOKEN_TTL", 900)?,
            refresh_token_ttl: seconds("GATEHOUSE_REFRESH_TOKEN_TTL", 604_800)?,
            refresh_absolute_ttl: seconds("GATEHOUSE_REFRESH_ABSOLUTE_TTL", 2_592_000)?,
            refresh_reuse_grace: seconds("GATEHOUSE_REFRESH_REUSE_GRACE", 0)?,
            session_ttl: seconds("GATEHOUSE_SESSION_TTL", 86_400)?,
            session_absolute_ttl: seconds("GATEHOUSE_SESSION_ABSOLUTE_TTL", 604_800)?,
            cookie_secure,
            cors_origins,
            trusted_proxies,
            login_failures_per_account: number(
                "GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT",
                10,
                1..=1_000_000,
            )? as u32,
            login_failures_per_address: number(
                "GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS",
                100,
                1..=1_000_000,
            )? as u32,
            login_failure_window: seconds("GATEHOUSE_LOGIN_FAILURE_WINDOW", 900)?,
            registrations_per_address: number(
                "GATEHOUSE_REGISTRATIONS_PER_ADDRESS",
                300,
                1..=1_000_000,
            )? as u32,
            refreshes_per_address: number("GATEHOUSE_REFRESHES_PER_ADDRESS", 600, 1..=1_000_000)?
                as u32,
            password_resets_per_address: number(
                "GATEHOUSE_PASSWORD_RESETS_PER_ADDRESS",
                100,
                1..=1_000_000,
            )? as u32,
            verification_resends_per_address: number(
                "GATEHOUSE_VERIFICATION_RESENDS_PER_ADDRESS",
                100,
                1..=1_000_000,
            )? as u32,
            reset_emails_per_day: number("GATEHOUSE_RESET_EMAILS_PER_DAY", 10, 1..=10_000)? as u32,
            tasks_max_open: number("GATEHOUSE_TASKS_MAX_OPEN", 20, 1..=100_000)? as u32,
            tasks_per_hour: number("GATEHOUSE_TASKS_PER_HOUR", 60, 1..=1_000_000)? as u32,
            job_concurrency: number("GATEHOUSE_JOB_CONCURRENCY", 4, 1..=256)?,
            avatar_max_bytes: number(
                "GATEHOUSE_AVATAR_MAX_BYTES",
                2 * 1024 * 1024,
                1024..=64 * 1024 * 1024,
            )?,
            audit_retention: Duration::from_secs(
                number("GATEHOUSE_AUDIT_RETENTION_DAYS", 365, 1..=36_500)? as u64 * 86_400,
            ),
            audit_prune_interval: seconds("GATEHOUSE_AUDIT_PRUNE_INTERVAL", 3600)?,
            bcrypt_cost,
            hash_concurrency: number("GATEHOUSE_HASH_CONCURRENCY", cores, 1..=1024)?,
            database_max_connections: number("GATEHOUSE_DATABASE_MAX_CONNECTIONS", 10, 1..=1000)?
                as u32,
            http_workers: number("GATEHOUSE_WORKERS", cores, 1..=1024)?,
            smtp_url: get("GATEHOUSE_SMTP_URL"),
            mail_from: get("GATEHOUSE_MAIL_FROM")
                .unwrap_or_else(|| "Gatehouse <no-reply@localhost>".into()),
            mail_dir: get("GATEHOUSE_MAIL_DIR")
                .unwrap_or_else(|| "mail".into())
                .into(),
            verification_token_ttl: seconds("GATEHOUSE_VERIFICATION_TOKEN_TTL", 172_800)?,
            reset_token_ttl: seconds("GATEHOUSE_RESET_TOKEN_TTL", 3600)?,
            job_max_attempts: number("GATEHOUSE_JOB_MAX_ATTEMPTS", 5, 1..=100)? as u32,
            // At most the longest pause between retries (5 minutes), which it starts from.
            job_backoff: number("GATEHOUSE_JOB_BACKOFF_MS", 2000, 1..=300_000)
                .map(|ms| Duration::from_millis(ms as u64))?,
            job_heartbeat: seconds("GATEHOUSE_JOB_HEARTBEAT", 15)?,
            task_step: millis("GATEHOUSE_TASK_STEP_MS", 1000)?,
            job_store,
            embedded_worker,
            environment,
            log_format,
        };
        config.check_production()?;
        Ok(config)
    }

    /// The origin (`scheme://host[:port]`) of `GATEHOUSE_PUBLIC_URL`.
    pub fn public_origin(&self) -> String {
        let url = self.public_url.trim_end_matches('/');
        match url.split_once("://") {
            Some((scheme, rest)) => {
                format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
            }
            None => url.to_owned(),
        }
    }

    /// What an operator should hear about at start, though the configuration is allowed.
    pub fn startup_warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.environment == Environment::Production && self.metrics_token.is_none() {
            warnings.push(
                "GATEHOUSE_METRICS_TOKEN is not set: /metrics is open to anyone who reaches it; \
                 set a token or keep the path off the public ingress",
            );
        }
        warnings
    }

    /// Production refuses the conveniences of the embedded default.
    fn check_production(&self) -> Result<(), ConfigError> {
        if self.environment != Environment::Production {
            return Ok(());
        }
        if self.jwt_secret.is_none() {
            return Err(error("GATEHOUSE_JWT_SECRET", "is required in production"));
        }
        if self.database_url.starts_with("sqlite:") {
            return Err(error(
                "GATEHOUSE_DATABASE_URL",
                "SQLite is not allowed in production; use PostgreSQL",
            ));
        }
        if self.redis_url.is_none() {
            return Err(error(
                "GATEHOUSE_REDIS_URL",
                "is required in production (instances share state through Redis)",
            ));
        }
        if self.smtp_url.is_none() {
            return Err(error(
                "GATEHOUSE_SMTP_URL",
                "is required in production (the file mailer only writes files)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_setup() {
        let config = load(&[]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(config.database_url, "sqlite://gatehouse.db?mode=rwc");
        assert!(config.redis_url.is_none() && config.jwt_secret.is_none());
        assert_eq!(config.access_token_ttl, Duration::from_secs(900));
        assert_eq!(config.refresh_token_ttl, Duration::from_secs(604_800));
        assert_eq!(config.bcrypt_cost, 12);
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.session_ttl, Duration::from_secs(86_400));
        assert_eq!(config.session_absolute_ttl, Duration::from_secs(604_800));
        assert!(!config.cookie_secure && config.cors_origins.is_empty());
        assert_eq!(config.public_origin(), "http://127.0.0.1:8000");
    }

    #[test]
    fn cookies_are_secure_in_production_or_on_request() {
        assert!(
            load(&[("GATEHOUSE_COOKIE_SECURE", "true")])
                .unwrap()
                .cookie_secure
        );
        let secret = "s".repeat(32);
        let production = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_JWT_SECRET", &secret),
            ("GATEHOUSE_DATABASE_URL", "postgres://h/db"),
            ("GATEHOUSE_REDIS_URL", "redis://h"),
            ("GATEHOUSE_SMTP_URL", "smtp://h"),
            ("GATEHOUSE_COOKIE_SECURE", "false"),
        ])
        .unwrap();
        assert!(production.cookie_secure);
    }

    #[test]
    fn the_job_store_is_the_database_unless_redis_is_chosen_and_configured() {
        assert_eq!(load(&[]).unwrap().job_store, JobStore::Database);
        let redis = load(&[
            ("GATEHOUSE_JOB_STORE", "redis"),
            ("GATEHOUSE_REDIS_URL", "redis://h"),
        ])
        .unwrap();
        assert_eq!(redis.job_store, JobStore::Redis);
        let without_url = load(&[("GATEHOUSE_JOB_STORE", "redis")]).unwrap_err();
        assert_eq!(without_url.variable, "GATEHOUSE_JOB_STORE");
        let unknown = load(&[("GATEHOUSE_JOB_STORE", "rabbitmq")]).unwrap_err();
        assert_eq!(unknown.variable, "GATEHOUSE_JOB_STORE");
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let config = load(&[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        let rendered: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(rendered, vec!["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
    }

    #[test]
    fn cors_origins_are_a_trimmed_list_of_origins() {
        let config = load(&[(
            "GATEHOUSE_CORS_ORIGINS",
            " https://app.example.com/, http://localhost:3000 ",
        )])
        .unwrap();
        assert_eq!(
            config.cors_origins,
            vec!["https://app.example.com", "http://localhost:3000"]
        );
        assert_eq!(
            load(&[("GATEHOUSE_CORS_ORIGINS", "*")])
                .unwrap_err()
                .variable,
            "GATEHOUSE_CORS_ORIGINS"
        );
    }

    #[test]
    fn hardening_limits_have_their_defaults_and_can_be_set() {
        let defaults = load(&[]).unwrap();
        assert_eq!(
            defaults.refresh_absolute_ttl,
            Duration::from_secs(2_592_000)
        );
        assert_eq!(defaults.tasks_max_open, 20);
        assert_eq!(defaults.tasks_per_hour, 60);
        assert_eq!(defaults.reset_emails_per_day, 10);
        assert_eq!(defaults.avatar_max_bytes, 2 * 1024 * 1024);
        assert_eq!(defaults.audit_retention, Duration::from_secs(365 * 86_400));
        let set = load(&[
            ("GATEHOUSE_REFRESH_ABSOLUTE_TTL", "60"),
            ("GATEHOUSE_TASKS_MAX_OPEN", "3"),
            ("GATEHOUSE_AUDIT_RETENTION_DAYS", "30"),
            ("GATEHOUSE_JOB_CONCURRENCY", "2"),
        ])
        .unwrap();
        assert_eq!(set.refresh_absolute_ttl, Duration::from_secs(60));
        assert_eq!(set.tasks_max_open, 3);
        assert_eq!(set.audit_retention, Duration::from_secs(30 * 86_400));
        assert_eq!(set.job_concurrency, 2);
    }

    #[test]
    fn an_open_metrics_endpoint_in_production_is_warned_about() {
        let secret = "s".repeat(32);
        let production = [
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_JWT_SECRET", secret.as_str()),
            ("GATEHOUSE_DATABASE_URL", "postgres://h/db"),
            ("GATEHOUSE_REDIS_URL", "redis://h"),
            ("GATEHOUSE_SMTP_URL", "smtp://h"),
        ];
        let warnings = load(&production).unwrap().startup_warnings();
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("GATEHOUSE_METRICS_TOKEN")),
            "{warnings:?}"
        );
        let token = "t".repeat(16);
        let mut with_token = production.to_vec();
        with_token.push(("GATEHOUSE_METRICS_TOKEN", &token));
        assert!(load(&with_token).unwrap().startup_warnings().is_empty());
        assert!(
            load(&[]).unwrap().startup_warnings().is_empty(),
            "development is quiet"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let one_key_too_short = format!("{},short", "k".repeat(32));
        for (var, value) in [
            ("GATEHOUSE_ADDR", "nowhere"),
            ("GATEHOUSE_ACCESS_TOKEN_TTL", "ten"),
            ("GATEHOUSE_ACCESS_TOKEN_TTL", "0"),
            ("GATEHOUSE_BCRYPT_COST", "3"),
            ("GATEHOUSE_ENV", "staging"),
            ("GATEHOUSE_JWT_SECRET", "short"),
            (
                "GATEHOUSE_JWT_VERIFY_ONLY_SECRETS",
                one_key_too_short.as_str(),
            ),
            ("GATEHOUSE_WORKER_ADDR", "8001"),
            ("GATEHOUSE_METRICS_TOKEN", "short"),
            ("GATEHOUSE_DATABASE_URL", "mysql://x"),
            ("GATEHOUSE_REDIS_URL", "http://x"),
            ("GATEHOUSE_SESSION_TTL", "-5"),
            ("GATEHOUSE_COOKIE_SECURE", "maybe"),
            ("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
            ("GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT", "0"),
            ("GATEHOUSE_REFRESH_ABSOLUTE_TTL", "0"),
            ("GATEHOUSE_REFRESH_ABSOLUTE_TTL", "18446744073709551615"),
            ("GATEHOUSE_ACCESS_TOKEN_TTL", "315360001"),
            ("GATEHOUSE_TASKS_MAX_OPEN", "0"),
            ("GATEHOUSE_TASKS_PER_HOUR", "many"),
            ("GATEHOUSE_AVATAR_MAX_BYTES", "10"),
            ("GATEHOUSE_AUDIT_RETENTION_DAYS", "0"),
            ("GATEHOUSE_JOB_CONCURRENCY", "0"),
            ("GATEHOUSE_RESET_EMAILS_PER_DAY", "-1"),
            ("GATEHOUSE_JOB_BACKOFF_MS", "400000"),
        ] {
            let err = load(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{value}");
        }
    }

    #[test]
    fn verify_only_keys_are_a_comma_separated_list() {
        let (a, b) = ("a".repeat(32), "b".repeat(40));
        let config =
            load(&[("GATEHOUSE_JWT_VERIFY_ONLY_SECRETS", &format!(" {a} ,{b},"))]).unwrap();
        let keys: Vec<&str> = config
            .jwt_verify_only
            .iter()
            .map(|k| k.expose_secret())
            .collect();
        assert_eq!(keys, [a.as_str(), b.as_str()]);
        assert!(load(&[]).unwrap().jwt_verify_only.is_empty());
    }

    #[test]
    fn production_refuses_missing_secret_sqlite_no_redis_and_no_smtp() {
        let secret = "s".repeat(32);
        let pg = "postgres://localhost/gatehouse";
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_DATABASE_URL", pg),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_JWT_SECRET");
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_JWT_SECRET", &secret),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_DATABASE_URL");
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_JWT_SECRET", &secret),
            ("GATEHOUSE_DATABASE_URL", pg),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_REDIS_URL");
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_JWT_SECRET", &secret),
            ("GATEHOUSE_DATABASE_URL", pg),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_SMTP_URL");
        let ok = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_JWT_SECRET", &secret),
            ("GATEHOUSE_DATABASE_URL", pg),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
            ("GATEHOUSE_SMTP_URL", "smtps://user:pass@mail.example.com"),
        ])
        .unwrap();
        assert_eq!(ok.log_format, LogFormat::Json);
        assert!(
            !ok.embedded_worker,
            "production runs `gatehouse worker` processes"
        );
        assert!(load(&[]).unwrap().embedded_worker);
    }
}
