//! Configuration: read once from the environment (and `.env`), validated into typed values.
//! A bad value stops the process with a message naming the variable.
//!
//! Each section is read straight into the settings type of the part that uses it (the
//! services' own `TokenSettings`, `ThrottleSettings`, ..., the HTTP layer's `WebSettings`,
//! the queue's `QueueSettings`), by one small function per section; [`env`] holds the rules
//! for single values. The variables are read through a lookup rather than by clap's `env`
//! attributes so that a test can build any configuration from a map, concurrently with others.

mod env;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use gatehouse_application::ports::RateLimit;
use gatehouse_application::{
    EmailSettings, HousekeepingSettings, JobSettings, SessionSettings, TaskLimits,
    ThrottleSettings, TokenSettings,
};
use gatehouse_http::WebSettings;
use gatehouse_infrastructure::jobs::QueueSettings;
use gatehouse_infrastructure::signing::{KeyAlgorithm, MasterKey};
use secrecy::SecretString;

pub use env::MAX_SECONDS;
use env::{Env, error};

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

/// Everything the service reads from its environment, by the part that uses it.
#[derive(Debug, Clone)]
pub struct Config {
    /// `GATEHOUSE_ENV`.
    pub environment: Environment,
    /// `GATEHOUSE_LOG_FORMAT` (JSON by default in production).
    pub log_format: LogFormat,
    /// Where and how the processes listen.
    pub server: ServerSettings,
    /// The relational database.
    pub database: DatabaseSettings,
    /// Redis, when the instances share state through it.
    pub redis: RedisSettings,
    /// The keys that sign and verify tokens.
    pub signing: SigningSettings,
    /// The WebAuthn relying party passkeys are registered with.
    pub webauthn: WebAuthnSettings,
    /// Password hashing.
    pub hashing: HashingSettings,
    /// Access and refresh token lifetimes (the token service's own settings).
    pub tokens: TokenSettings,
    /// Cookie session lifetimes (the session service's own settings).
    pub sessions: SessionSettings,
    /// How the HTTP layer treats browsers, proxies and uploads.
    pub web: WebSettings,
    /// Rate limits (the throttle's own settings).
    pub throttle: ThrottleSettings,
    /// How emails leave the service.
    pub mail: MailSettings,
    /// What account emails link to and how long their tokens live.
    pub emails: EmailSettings,
    /// Job workers: where jobs wait, the embedded worker, housekeeping.
    pub workers: WorkerSettings,
    /// Retries, heartbeats and concurrency of the job queue.
    pub queue: QueueSettings,
    /// How jobs run (attempts, the step of a `long_running` task).
    pub jobs: JobSettings,
    /// Per-user task quotas.
    pub tasks: TaskLimits,
    /// What the workers' sweep deletes.
    pub housekeeping: HousekeepingSettings,
    /// `GATEHOUSE_MEDIA_DIR`: where uploaded avatars are stored (default `media`).
    pub media_dir: PathBuf,
}

/// Where and how the processes listen.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `GATEHOUSE_ADDR`.
    pub addr: SocketAddr,
    /// `GATEHOUSE_WORKER_ADDR`: where `gatehouse worker` answers `/health/live` and
    /// `/metrics`.
    pub worker_addr: SocketAddr,
    /// `GATEHOUSE_WORKERS`: HTTP worker threads.
    pub http_workers: usize,
    /// `GATEHOUSE_PUBLIC_URL`: base of links in emails and of media URLs.
    pub public_url: String,
    /// `GATEHOUSE_METRICS_TOKEN`: when set, `/metrics` wants it as a bearer token.
    pub metrics_token: Option<SecretString>,
}

/// The relational database.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `GATEHOUSE_DATABASE_URL`.
    pub url: String,
    /// `GATEHOUSE_DATABASE_MAX_CONNECTIONS`.
    pub max_connections: u32,
}

/// Redis, shared by every instance.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `GATEHOUSE_REDIS_URL`; `None`: in-memory stores.
    pub url: Option<String>,
    /// `GATEHOUSE_REDIS_PREFIX`: prefix of every Redis key.
    pub prefix: String,
}

/// The WebAuthn relying party: whose passkeys these are, and where the browser calls from.
#[derive(Debug, Clone)]
pub struct WebAuthnSettings {
    /// `GATEHOUSE_WEBAUTHN_RP_ID` (default: the host of `GATEHOUSE_PUBLIC_URL`). Passkeys
    /// are bound to it; when it is not a domain (an IP address), passkeys are unavailable.
    pub rp_id: String,
    /// `GATEHOUSE_WEBAUTHN_ORIGIN` (default: the origin of `GATEHOUSE_PUBLIC_URL`): the page
    /// origin the browser reports in every ceremony, port included.
    pub origin: url::Url,
    /// `GATEHOUSE_MFA_TOKEN_TTL` (seconds, default 300): how long an `mfa_token` and a
    /// WebAuthn ceremony live.
    pub challenge_ttl: Duration,
}

/// The keys that sign and verify tokens.
#[derive(Debug, Clone)]
pub struct SigningSettings {
    /// `GATEHOUSE_JWT_ALGORITHM`: `EdDSA` (default), `ES256`, `RS256`, or `HS256` (legacy:
    /// the shared secret signs, no key is published).
    pub algorithm: TokenAlgorithm,
    /// `GATEHOUSE_MASTER_KEY` (32 bytes, base64): seals signing keys at rest. `None`: the
    /// fixed development key (development only; production refuses to start without it).
    pub master_key: Option<SecretString>,
    /// `GATEHOUSE_MASTER_KEY_PREVIOUS`: the master key being replaced; what it sealed still
    /// opens until `gatehouse keys reseal` has sealed it again under the new one.
    pub master_key_previous: Option<SecretString>,
    /// `GATEHOUSE_JWT_SECRET`: the HS256 secret; with an asymmetric algorithm it only
    /// verifies the HS256 tokens issued before the switch. `None` with HS256: a random one
    /// per start (development only).
    pub jwt_secret: Option<SecretString>,
    /// `GATEHOUSE_JWT_VERIFY_ONLY_SECRETS`: comma-separated HS256 secrets that verify tokens
    /// but never sign them (secret rotation).
    pub verify_only: Vec<SecretString>,
    /// `GATEHOUSE_JWT_ISSUER` (default `GATEHOUSE_PUBLIC_URL`): every token's `iss`.
    pub issuer: String,
    /// `GATEHOUSE_JWT_AUDIENCE` (default `gatehouse`): every token's `aud`.
    pub audience: String,
    /// `GATEHOUSE_JWKS_MAX_AGE` (seconds, default 300): the JWKS `max-age`, and the longest
    /// an instance takes to notice a key another process rotated.
    pub jwks_max_age: Duration,
    /// `GATEHOUSE_KEY_ROTATION_DAYS` (default 30): how long a key signs before the next
    /// one takes over.
    pub rotate_every: Duration,
}

/// What signs access and refresh tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAlgorithm {
    /// A key pair from the database's key ring, published in the JWKS.
    Asymmetric(KeyAlgorithm),
    /// The shared `GATEHOUSE_JWT_SECRET`.
    Hs256,
}

/// Password hashing.
#[derive(Debug, Clone, Copy)]
pub struct HashingSettings {
    /// `GATEHOUSE_BCRYPT_COST`.
    pub bcrypt_cost: u32,
    /// `GATEHOUSE_HASH_CONCURRENCY`: bcrypt hashes run at once.
    pub concurrency: usize,
}

/// How emails leave the service.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `GATEHOUSE_SMTP_URL`; `None`: emails become `.eml` files in `dir`.
    pub smtp_url: Option<String>,
    /// `GATEHOUSE_MAIL_FROM`.
    pub from: String,
    /// `GATEHOUSE_MAIL_DIR`: where the development mailer writes (default `mail`).
    pub dir: PathBuf,
}

/// Job workers.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// `GATEHOUSE_JOB_STORE`: where queued jobs wait (default: the database).
    pub store: JobStore,
    /// `GATEHOUSE_EMBEDDED_WORKER`: `serve` also runs a job worker (default: on in
    /// development, off in production, where `gatehouse worker` runs them).
    pub embedded: bool,
    /// `GATEHOUSE_AUDIT_PRUNE_INTERVAL` (seconds): how often workers sweep.
    pub housekeeping_interval: Duration,
}

/// Shortest accepted JWT secret, in bytes (HS256 wants at least its output size).
pub const MIN_SECRET_BYTES: usize = 32;

/// Shortest accepted metrics token, in bytes.
pub const MIN_METRICS_TOKEN_BYTES: usize = 16;

const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(24 * 3600);

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(&lookup);
        let environment = environment(&env)?;
        let production = environment == Environment::Production;
        let server = server(&env)?;
        let redis = redis(&env)?;
        let sessions = sessions(&env)?;
        let queue = queue(&env)?;
        let config = Config {
            environment,
            log_format: log_format(&env, production)?,
            database: database(&env)?,
            signing: signing(&env, &server)?,
            webauthn: webauthn(&env, &server)?,
            hashing: hashing(&env)?,
            tokens: tokens(&env)?,
            web: web(&env, production, &server, &sessions)?,
            throttle: throttle(&env)?,
            mail: mail(&env),
            emails: emails(&env, &server)?,
            workers: workers(&env, production, &redis)?,
            jobs: JobSettings {
                max_attempts: queue.max_attempts,
                step: env.millis("GATEHOUSE_TASK_STEP_MS", 1000, 1..=3_600_000)?,
            },
            tasks: TaskLimits {
                max_open: env.count("GATEHOUSE_TASKS_MAX_OPEN", 20, 1..=100_000)?,
            },
            housekeeping: HousekeepingSettings {
                audit_retention: DAY
                    * env.count("GATEHOUSE_AUDIT_RETENTION_DAYS", 365, 1..=36_500)?,
            },
            media_dir: env.text_or("GATEHOUSE_MEDIA_DIR", "media").into(),
            server,
            redis,
            sessions,
            queue,
        };
        config.check_production()?;
        Ok(config)
    }

    /// The origin (`scheme://host[:port]`) of `GATEHOUSE_PUBLIC_URL`.
    pub fn public_origin(&self) -> String {
        origin_of(&self.server.public_url)
    }

    /// What an operator should hear about at start, though the configuration is allowed.
    pub fn startup_warnings(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.environment == Environment::Production && self.server.metrics_token.is_none() {
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
        if self.signing.master_key.is_none() {
            return Err(error(
                "GATEHOUSE_MASTER_KEY",
                "is required in production (32 random bytes, base64: it seals the signing keys)",
            ));
        }
        if self.signing.algorithm == TokenAlgorithm::Hs256 && self.signing.jwt_secret.is_none() {
            return Err(error(
                "GATEHOUSE_JWT_SECRET",
                "is required in production with GATEHOUSE_JWT_ALGORITHM=HS256",
            ));
        }
        if self.database.url.starts_with("sqlite:") {
            return Err(error(
                "GATEHOUSE_DATABASE_URL",
                "SQLite is not allowed in production; use PostgreSQL",
            ));
        }
        if self.redis.url.is_none() {
            return Err(error(
                "GATEHOUSE_REDIS_URL",
                "is required in production (instances share state through Redis)",
            ));
        }
        if self.mail.smtp_url.is_none() {
            return Err(error(
                "GATEHOUSE_SMTP_URL",
                "is required in production (the file mailer only writes files)",
            ));
        }
        Ok(())
    }
}

fn origin_of(url: &str) -> String {
    let url = url.trim_end_matches('/');
    match url.split_once("://") {
        Some((scheme, rest)) => {
            format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
        }
        None => url.to_owned(),
    }
}

fn webauthn(env: &Env, server: &ServerSettings) -> Result<WebAuthnSettings, ConfigError> {
    let name = "GATEHOUSE_WEBAUTHN_ORIGIN";
    let text = env
        .text(name)
        .unwrap_or_else(|| origin_of(&server.public_url));
    let origin = url::Url::parse(&text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .ok_or_else(|| error(name, format!("expected an http(s) origin, got {text:?}")))?;
    let rp_id = match env.text("GATEHOUSE_WEBAUTHN_RP_ID") {
        Some(id) => id,
        None => origin.host_str().unwrap_or_default().to_owned(),
    };
    let challenge_ttl = env.seconds("GATEHOUSE_MFA_TOKEN_TTL", 300)?;
    Ok(WebAuthnSettings {
        rp_id,
        origin,
        challenge_ttl,
    })
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn environment(env: &Env) -> Result<Environment, ConfigError> {
    match env.text("GATEHOUSE_ENV").as_deref() {
        None | Some("development") | Some("dev") | Some("test") => Ok(Environment::Development),
        Some("production") | Some("prod") => Ok(Environment::Production),
        Some(other) => Err(error(
            "GATEHOUSE_ENV",
            format!("expected development or production, got {other:?}"),
        )),
    }
}

fn log_format(env: &Env, production: bool) -> Result<LogFormat, ConfigError> {
    match env.text("GATEHOUSE_LOG_FORMAT").as_deref() {
        None if production => Ok(LogFormat::Json),
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(error(
            "GATEHOUSE_LOG_FORMAT",
            format!("expected text or json, got {other:?}"),
        )),
    }
}

fn server(env: &Env) -> Result<ServerSettings, ConfigError> {
    Ok(ServerSettings {
        addr: env.socket("GATEHOUSE_ADDR", "127.0.0.1:8000")?,
        worker_addr: env.socket("GATEHOUSE_WORKER_ADDR", "127.0.0.1:8001")?,
        http_workers: env.number("GATEHOUSE_WORKERS", cores(), 1..=1024)?,
        public_url: env.text_or("GATEHOUSE_PUBLIC_URL", "http://127.0.0.1:8000"),
        metrics_token: env.secret("GATEHOUSE_METRICS_TOKEN", MIN_METRICS_TOKEN_BYTES)?,
    })
}

fn database(env: &Env) -> Result<DatabaseSettings, ConfigError> {
    let url = env
        .url(
            "GATEHOUSE_DATABASE_URL",
            &["sqlite:", "postgres://", "postgresql://"],
            "expected a sqlite:// or postgres:// URL",
        )?
        .unwrap_or_else(|| "sqlite://gatehouse.db?mode=rwc".into());
    Ok(DatabaseSettings {
        url,
        max_connections: env.count("GATEHOUSE_DATABASE_MAX_CONNECTIONS", 10, 1..=1000)?,
    })
}

fn redis(env: &Env) -> Result<RedisSettings, ConfigError> {
    Ok(RedisSettings {
        url: env.url(
            "GATEHOUSE_REDIS_URL",
            &["redis://", "rediss://"],
            "expected a redis:// or rediss:// URL",
        )?,
        prefix: env.text_or("GATEHOUSE_REDIS_PREFIX", "gatehouse:"),
    })
}

fn signing(env: &Env, server: &ServerSettings) -> Result<SigningSettings, ConfigError> {
    let algorithm = match env.text("GATEHOUSE_JWT_ALGORITHM").as_deref() {
        None => TokenAlgorithm::Asymmetric(KeyAlgorithm::EdDsa),
        Some("HS256") => TokenAlgorithm::Hs256,
        Some(name) => KeyAlgorithm::parse(name)
            .map(TokenAlgorithm::Asymmetric)
            .ok_or_else(|| {
                error(
                    "GATEHOUSE_JWT_ALGORITHM",
                    format!("expected EdDSA, ES256, RS256 or HS256, got {name:?}"),
                )
            })?,
    };
    let master_key = |name: &'static str| -> Result<Option<SecretString>, ConfigError> {
        let Some(text) = env.text(name) else {
            return Ok(None);
        };
        MasterKey::from_base64(&text).map_err(|e| error(name, format!("{e:#}")))?;
        Ok(Some(text.into()))
    };
    Ok(SigningSettings {
        algorithm,
        master_key: master_key("GATEHOUSE_MASTER_KEY")?,
        master_key_previous: master_key("GATEHOUSE_MASTER_KEY_PREVIOUS")?,
        jwt_secret: env.secret("GATEHOUSE_JWT_SECRET", MIN_SECRET_BYTES)?,
        verify_only: env.secrets("GATEHOUSE_JWT_VERIFY_ONLY_SECRETS", MIN_SECRET_BYTES)?,
        issuer: env.text_or(
            "GATEHOUSE_JWT_ISSUER",
            server.public_url.trim_end_matches('/'),
        ),
        audience: env.text_or("GATEHOUSE_JWT_AUDIENCE", "gatehouse"),
        // A day at most: a new key waits two max-ages before it signs.
        jwks_max_age: Duration::from_secs(
            env.number("GATEHOUSE_JWKS_MAX_AGE", 300, 1..=86_400)? as u64
        ),
        rotate_every: DAY * env.count("GATEHOUSE_KEY_ROTATION_DAYS", 30, 1..=3650)?,
    })
}

fn hashing(env: &Env) -> Result<HashingSettings, ConfigError> {
    Ok(HashingSettings {
        bcrypt_cost: env.count("GATEHOUSE_BCRYPT_COST", 12, 4..=31)?,
        concurrency: env.number("GATEHOUSE_HASH_CONCURRENCY", cores(), 1..=1024)?,
    })
}

fn tokens(env: &Env) -> Result<TokenSettings, ConfigError> {
    Ok(TokenSettings {
        access_ttl: env.seconds("GATEHOUSE_ACCESS_TOKEN_TTL", 900)?,
        refresh_ttl: env.seconds("GATEHOUSE_REFRESH_TOKEN_TTL", 604_800)?,
        absolute_ttl: env.seconds("GATEHOUSE_REFRESH_ABSOLUTE_TTL", 2_592_000)?,
        reuse_grace: env.seconds_or_zero("GATEHOUSE_REFRESH_REUSE_GRACE", 0)?,
    })
}

fn sessions(env: &Env) -> Result<SessionSettings, ConfigError> {
    Ok(SessionSettings {
        idle_ttl: env.seconds("GATEHOUSE_SESSION_TTL", 86_400)?,
        absolute_ttl: env.seconds("GATEHOUSE_SESSION_ABSOLUTE_TTL", 604_800)?,
    })
}

fn web(
    env: &Env,
    production: bool,
    server: &ServerSettings,
    sessions: &SessionSettings,
) -> Result<WebSettings, ConfigError> {
    let cors_origins = cors_origins(env)?;
    Ok(WebSettings {
        // Production cookies are always Secure; elsewhere on request.
        cookie_secure: env.flag("GATEHOUSE_COOKIE_SECURE", production)? || production,
        cookie_max_age: sessions.absolute_ttl,
        trusted_origins: std::iter::once(origin_of(&server.public_url))
            .chain(cors_origins.iter().cloned())
            .collect(),
        trusted_proxies: trusted_proxies(env)?,
        cors_origins,
        avatar_max_bytes: env.number(
            "GATEHOUSE_AVATAR_MAX_BYTES",
            2 * 1024 * 1024,
            1024..=64 * 1024 * 1024,
        )?,
    })
}

fn cors_origins(env: &Env) -> Result<Vec<String>, ConfigError> {
    env.list("GATEHOUSE_CORS_ORIGINS")
        .iter()
        .map(|origin| origin.trim_end_matches('/'))
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(error(
                    "GATEHOUSE_CORS_ORIGINS",
                    format!("expected scheme://host[:port] origins, got {origin:?}"),
                ));
            }
            Ok(origin.to_owned())
        })
        .collect()
}

fn trusted_proxies(env: &Env) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    env.list("GATEHOUSE_TRUSTED_PROXIES")
        .iter()
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    error(
                        "GATEHOUSE_TRUSTED_PROXIES",
                        format!("expected IP addresses or CIDR ranges, got {entry:?}"),
                    )
                })
        })
        .collect()
}

fn throttle(env: &Env) -> Result<ThrottleSettings, ConfigError> {
    let limit = |name: &'static str, default: u32, window: Duration| {
        env.count(name, default, 1..=1_000_000)
            .map(|limit| RateLimit { limit, window })
    };
    let login_window = env.seconds("GATEHOUSE_LOGIN_FAILURE_WINDOW", 900)?;
    Ok(ThrottleSettings {
        login_failures_per_account: limit(
            "GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT",
            10,
            login_window,
        )?,
        login_failures_per_address: limit(
            "GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS",
            100,
            login_window,
        )?,
        registrations_per_address: limit(
            "GATEHOUSE_REGISTRATIONS_PER_ADDRESS",
            300,
            FIFTEEN_MINUTES,
        )?,
        refreshes_per_address: limit("GATEHOUSE_REFRESHES_PER_ADDRESS", 600, FIFTEEN_MINUTES)?,
        password_resets_per_address: limit(
            "GATEHOUSE_PASSWORD_RESETS_PER_ADDRESS",
            100,
            FIFTEEN_MINUTES,
        )?,
        verification_resends_per_address: limit(
            "GATEHOUSE_VERIFICATION_RESENDS_PER_ADDRESS",
            100,
            FIFTEEN_MINUTES,
        )?,
        reset_emails_per_day: RateLimit {
            limit: env.count("GATEHOUSE_RESET_EMAILS_PER_DAY", 10, 1..=10_000)?,
            window: DAY,
        },
        tasks_per_user: limit("GATEHOUSE_TASKS_PER_HOUR", 60, HOUR)?,
        factor_changes_per_user: limit("GATEHOUSE_FACTOR_CHANGES_PER_HOUR", 30, HOUR)?,
        ..ThrottleSettings::default()
    })
}

fn mail(env: &Env) -> MailSettings {
    MailSettings {
        smtp_url: env.text("GATEHOUSE_SMTP_URL"),
        from: env.text_or("GATEHOUSE_MAIL_FROM", "Gatehouse <no-reply@localhost>"),
        dir: env.text_or("GATEHOUSE_MAIL_DIR", "mail").into(),
    }
}

fn emails(env: &Env, server: &ServerSettings) -> Result<EmailSettings, ConfigError> {
    Ok(EmailSettings {
        public_url: server.public_url.trim_end_matches('/').to_owned(),
        verification_ttl: env.seconds("GATEHOUSE_VERIFICATION_TOKEN_TTL", 172_800)?,
        reset_ttl: env.seconds("GATEHOUSE_RESET_TOKEN_TTL", 3600)?,
    })
}

fn workers(
    env: &Env,
    production: bool,
    redis: &RedisSettings,
) -> Result<WorkerSettings, ConfigError> {
    let store = match env.text("GATEHOUSE_JOB_STORE").as_deref() {
        None | Some("database") => JobStore::Database,
        Some("redis") if redis.url.is_some() => JobStore::Redis,
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
    Ok(WorkerSettings {
        store,
        embedded: env.flag("GATEHOUSE_EMBEDDED_WORKER", !production)?,
        housekeeping_interval: env.seconds("GATEHOUSE_AUDIT_PRUNE_INTERVAL", 3600)?,
    })
}

fn queue(env: &Env) -> Result<QueueSettings, ConfigError> {
    Ok(QueueSettings {
        max_attempts: env.count("GATEHOUSE_JOB_MAX_ATTEMPTS", 5, 1..=100)?,
        // At most the longest pause between retries (5 minutes), which it starts from.
        first_backoff: env.millis("GATEHOUSE_JOB_BACKOFF_MS", 2000, 1..=300_000)?,
        heartbeat: env.seconds("GATEHOUSE_JOB_HEARTBEAT", 15)?,
        concurrency: env.number("GATEHOUSE_JOB_CONCURRENCY", 4, 1..=256)?,
        ..QueueSettings::default()
    })
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
        assert_eq!(config.server.addr.to_string(), "127.0.0.1:8000");
        assert_eq!(config.database.url, "sqlite://gatehouse.db?mode=rwc");
        assert!(config.redis.url.is_none() && config.signing.jwt_secret.is_none());
        assert_eq!(config.tokens.access_ttl, Duration::from_secs(900));
        assert_eq!(config.tokens.refresh_ttl, Duration::from_secs(604_800));
        assert_eq!(config.hashing.bcrypt_cost, 12);
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.sessions.idle_ttl, Duration::from_secs(86_400));
        assert_eq!(config.sessions.absolute_ttl, Duration::from_secs(604_800));
        assert!(!config.web.cookie_secure && config.web.cors_origins.is_empty());
        assert_eq!(config.public_origin(), "http://127.0.0.1:8000");
    }

    /// 32 bytes, base64.
    const MASTER_KEY: &str = "Y29uZmlnLXRlc3QtbWFzdGVyLWtleS0wMTIzNDU2Nzg=";

    #[test]
    fn signing_defaults_to_eddsa_issued_by_the_public_url() {
        let config = load(&[("GATEHOUSE_PUBLIC_URL", "https://auth.example.com/")]).unwrap();
        let signing = &config.signing;
        assert_eq!(
            signing.algorithm,
            TokenAlgorithm::Asymmetric(KeyAlgorithm::EdDsa)
        );
        assert_eq!(signing.issuer, "https://auth.example.com");
        assert_eq!(signing.audience, "gatehouse");
        assert_eq!(signing.jwks_max_age, Duration::from_secs(300));
        assert_eq!(signing.rotate_every, 30 * DAY);
        for (name, algorithm) in [
            ("ES256", TokenAlgorithm::Asymmetric(KeyAlgorithm::Es256)),
            ("RS256", TokenAlgorithm::Asymmetric(KeyAlgorithm::Rs256)),
            ("HS256", TokenAlgorithm::Hs256),
        ] {
            let config = load(&[("GATEHOUSE_JWT_ALGORITHM", name)]).unwrap();
            assert_eq!(config.signing.algorithm, algorithm);
        }
        for (name, bad) in [
            ("GATEHOUSE_JWT_ALGORITHM", "none"),
            ("GATEHOUSE_JWT_ALGORITHM", "HS512"),
            ("GATEHOUSE_JWT_ALGORITHM", "eddsa"),
            ("GATEHOUSE_MASTER_KEY", "c2hvcnQ="),
            ("GATEHOUSE_MASTER_KEY", "not base64 at all"),
            ("GATEHOUSE_MASTER_KEY_PREVIOUS", "c2hvcnQ="),
            ("GATEHOUSE_JWKS_MAX_AGE", "0"),
            ("GATEHOUSE_JWKS_MAX_AGE", "86401"),
            ("GATEHOUSE_KEY_ROTATION_DAYS", "0"),
        ] {
            assert_eq!(load(&[(name, bad)]).unwrap_err().variable, name, "{bad}");
        }
    }

    #[test]
    fn cookies_are_secure_in_production_or_on_request() {
        assert!(
            load(&[("GATEHOUSE_COOKIE_SECURE", "true")])
                .unwrap()
                .web
                .cookie_secure
        );
        let production = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
            ("GATEHOUSE_DATABASE_URL", "postgres://h/db"),
            ("GATEHOUSE_REDIS_URL", "redis://h"),
            ("GATEHOUSE_SMTP_URL", "smtp://h"),
            ("GATEHOUSE_COOKIE_SECURE", "false"),
        ])
        .unwrap();
        assert!(production.web.cookie_secure);
    }

    #[test]
    fn the_job_store_is_the_database_unless_redis_is_chosen_and_configured() {
        assert_eq!(load(&[]).unwrap().workers.store, JobStore::Database);
        let redis = load(&[
            ("GATEHOUSE_JOB_STORE", "redis"),
            ("GATEHOUSE_REDIS_URL", "redis://h"),
        ])
        .unwrap();
        assert_eq!(redis.workers.store, JobStore::Redis);
        let without_url = load(&[("GATEHOUSE_JOB_STORE", "redis")]).unwrap_err();
        assert_eq!(without_url.variable, "GATEHOUSE_JOB_STORE");
        let unknown = load(&[("GATEHOUSE_JOB_STORE", "rabbitmq")]).unwrap_err();
        assert_eq!(unknown.variable, "GATEHOUSE_JOB_STORE");
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let config = load(&[("GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1,::1")]).unwrap();
        let rendered: Vec<String> = config
            .web
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
            config.web.cors_origins,
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
        assert_eq!(defaults.tokens.absolute_ttl, Duration::from_secs(2_592_000));
        assert_eq!(defaults.tasks.max_open, 20);
        assert_eq!(defaults.throttle.tasks_per_user.limit, 60);
        assert_eq!(defaults.throttle.reset_emails_per_day.limit, 10);
        assert_eq!(defaults.web.avatar_max_bytes, 2 * 1024 * 1024);
        assert_eq!(
            defaults.housekeeping.audit_retention,
            Duration::from_secs(365 * 86_400)
        );
        let set = load(&[
            ("GATEHOUSE_REFRESH_ABSOLUTE_TTL", "60"),
            ("GATEHOUSE_TASKS_MAX_OPEN", "3"),
            ("GATEHOUSE_AUDIT_RETENTION_DAYS", "30"),
            ("GATEHOUSE_JOB_CONCURRENCY", "2"),
        ])
        .unwrap();
        assert_eq!(set.tokens.absolute_ttl, Duration::from_secs(60));
        assert_eq!(set.tasks.max_open, 3);
        assert_eq!(
            set.housekeeping.audit_retention,
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(set.queue.concurrency, 2);
    }

    #[test]
    fn an_open_metrics_endpoint_in_production_is_warned_about() {
        let production = [
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
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
            .signing
            .verify_only
            .iter()
            .map(|k| k.expose_secret())
            .collect();
        assert_eq!(keys, [a.as_str(), b.as_str()]);
        assert!(load(&[]).unwrap().signing.verify_only.is_empty());
    }

    #[test]
    fn production_refuses_missing_keys_sqlite_no_redis_and_no_smtp() {
        let pg = "postgres://localhost/gatehouse";
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_DATABASE_URL", pg),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_MASTER_KEY");
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
            ("GATEHOUSE_JWT_ALGORITHM", "HS256"),
            ("GATEHOUSE_DATABASE_URL", pg),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_JWT_SECRET");
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_DATABASE_URL");
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
            ("GATEHOUSE_DATABASE_URL", pg),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_REDIS_URL");
        let err = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
            ("GATEHOUSE_DATABASE_URL", pg),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "GATEHOUSE_SMTP_URL");
        let ok = load(&[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_MASTER_KEY", MASTER_KEY),
            ("GATEHOUSE_DATABASE_URL", pg),
            ("GATEHOUSE_REDIS_URL", "redis://x"),
            ("GATEHOUSE_SMTP_URL", "smtps://user:pass@mail.example.com"),
        ])
        .unwrap();
        assert_eq!(ok.log_format, LogFormat::Json);
        assert!(
            !ok.workers.embedded,
            "production runs `gatehouse worker` processes"
        );
        assert!(load(&[]).unwrap().workers.embedded);
    }
}
