//! The composition root: configuration in, running service out.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::Server;
use anyhow::Context;
use arc_swap::ArcSwap;
use base64::Engine;
use gatehouse_application::accounts::COPY_LIFETIME;
use gatehouse_application::ports::{
    AccountVersions, AuditLog, ChallengeStore, Clock, EmailTokenStore, HealthProbe, Mailer,
    PasswordHasher, RateLimiter, SecondFactorSecrets, SessionStore, TaskRepository, TokenStore,
    UserRepository,
};
use gatehouse_application::{
    AccountCache, AccountRecovery, AuditService, Auditor, AuthParts, AuthService, CatalogService,
    CreditService, CursorCodec, DeviceService, EmailJobs, EmailOutbox, FactorParts, FactorSettings,
    HealthService, Housekeeping, JobMonitor, JobMonitorParts, JobRunner, PreRegistrationParts,
    PreRegistrationService, ProfileParts, ProfileService, RecoveryParts, Revocation, SecondFactors,
    SessionService, SigningKeys, Swept, TaskService, Throttle, TokenService, UserAdminParts,
    UserAdminService, UserService, VersionedUserRepository,
};
use gatehouse_domain::{PasswordPolicy, RotationPolicy};
use gatehouse_http::{AppState, JwksEndpoint, MetricsEndpoint};
use gatehouse_infrastructure::database::{
    self, Connection as DatabaseConnection, DatabaseProbe, SeaOrmAuditLog,
    SeaOrmCategoryRepository, SeaOrmCreditLedger, SeaOrmDeviceRepository, SeaOrmEmailTokenStore,
    SeaOrmFactorStore, SeaOrmPreRegistrations, SeaOrmProductRepository, SeaOrmSigningKeyStore,
    SeaOrmTaskRepository, SeaOrmUserRepository,
};
use gatehouse_infrastructure::files::LocalFileStorage;
use gatehouse_infrastructure::jobs::ApalisJobQueue;
use gatehouse_infrastructure::jwt::{JwtCodec, JwtSettings, TokenLifetimes};
use gatehouse_infrastructure::mail::{FileMailer, SmtpMailer, parse_sender};
use gatehouse_infrastructure::mfa::{SealedFactorSecrets, WebauthnPasskeys};
use gatehouse_infrastructure::redis::{
    self as redis_adapter, RedisAccountVersions, RedisChallengeStore, RedisPool, RedisProbe,
    RedisRateLimiter, RedisSessionStore, RedisTokenStore,
};
use gatehouse_infrastructure::signing::{
    KeyAlgorithm, KeyRing, MasterKey, MasterKeys, SealedKeyMaterial,
};
use gatehouse_infrastructure::{BcryptHasher, SystemClock};
use gatehouse_memory::{
    InMemoryAccountVersions, InMemoryChallengeStore, InMemoryHealthProbe, InMemoryRateLimiter,
    InMemorySessionStore, InMemoryTokenStore,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::Config;
use crate::config::{JobStore, TokenAlgorithm};
use crate::metrics::PrometheusMetrics;

/// How many accounts an instance keeps a copy of for the requests that act for them (see
/// [`AccountCache`]): about a kilobyte each.
const ACCOUNT_COPIES: u64 = 50_000;

/// Every service, built from configuration: what `serve` and the CLI commands share.
pub struct Components {
    /// The services the HTTP layer calls.
    pub state: AppState,
    /// The user store, for bulk commands (seeding).
    pub users: Arc<dyn UserRepository>,
    /// The password hasher, for bulk commands.
    pub hasher: Arc<dyn PasswordHasher>,
    /// The job queue, which workers pop from.
    pub queue: ApalisJobQueue,
    /// What workers run jobs with.
    pub runner: Arc<JobRunner>,
    /// What workers sweep between jobs.
    pub housekeeping: Arc<Housekeeping>,
    /// The token-signing keys, for `gatehouse keys` and the rotation every serving
    /// instance runs.
    pub signing_keys: Arc<SigningKeys>,
    /// Key pairs sign tokens (`false`: the HS256 secret does, and keys are only prepared).
    pub key_pairs: bool,
}

impl Components {
    /// Connects to the configured stores and builds the services. Applies pending migrations
    /// when `migrate` is set.
    pub async fn build(config: &Config, migrate: bool) -> anyhow::Result<Self> {
        let db = database::open(
            &config.database.url,
            config.database.max_connections,
            migrate,
        )
        .await?;
        let shared = SharedStores::connect(config, &db).await?;
        let core = Core::build(config, &db, shared)?;
        // A key that does not open stops the process here rather than at the first
        // sign-in. Only a serving instance (and `keys rotate`) changes keys: a command run
        // with other settings must not rotate them.
        core.signing_keys
            .reload()
            .await
            .map_err(anyhow::Error::from)
            .context(KEYS_DO_NOT_LOAD)?;
        let jobs = Jobs::build(config, &db, &core).await?;
        let housekeeping = Arc::new(Housekeeping::new(
            core.audit_log.clone(),
            jobs.records.clone(),
            core.clock.clone(),
            config.housekeeping,
        ));
        let state = app_state(config, &db, &core, &jobs)?;
        Ok(Self {
            key_pairs: core.key_pairs,
            signing_keys: core.signing_keys,
            state,
            users: core.users,
            hasher: core.hasher,
            queue: jobs.queue,
            runner: jobs.runner,
            housekeeping,
        })
    }
}

/// The state every instance must share: in Redis when configured, else in this process;
/// and the probes `/health` asks.
struct SharedStores {
    tokens: Arc<dyn TokenStore>,
    versions: Arc<dyn AccountVersions>,
    /// How long a copy of an account may be kept (see [`AccountCache`]).
    copy_lifetime: Duration,
    /// The Redis connections, when the state is there.
    redis: Option<RedisPool>,
    sessions: Arc<dyn SessionStore>,
    limiter: Arc<dyn RateLimiter>,
    challenges: Arc<dyn ChallengeStore>,
    probes: Vec<Arc<dyn HealthProbe>>,
}

impl SharedStores {
    async fn connect(config: &Config, db: &DatabaseConnection) -> anyhow::Result<Self> {
        let database: Arc<dyn HealthProbe> = Arc::new(DatabaseProbe::new(db.clone()));
        let Some(url) = &config.redis.url else {
            let tokens = Arc::new(InMemoryTokenStore::new());
            return Ok(Self {
                probes: vec![
                    database,
                    Arc::new(InMemoryHealthProbe::cache(tokens.clone())),
                ],
                tokens,
                versions: Arc::new(InMemoryAccountVersions::new()),
                // The CLI commands (an import, a new superuser) write the same database
                // from another process, whose moves this process's versions never see: a
                // copy lives one second, so their changes show within one.
                copy_lifetime: Duration::from_secs(1),
                redis: None,
                sessions: Arc::new(InMemorySessionStore::new()),
                limiter: Arc::new(InMemoryRateLimiter::new()),
                challenges: Arc::new(InMemoryChallengeStore::new()),
            });
        };
        let pool = redis_adapter::connect(url, redis_pool_size(config)).await?;
        let prefix = config.redis.prefix.clone();
        Ok(Self {
            probes: vec![database, Arc::new(RedisProbe::new(pool.clone()))],
            tokens: Arc::new(RedisTokenStore::new(pool.clone(), prefix.clone())),
            versions: Arc::new(RedisAccountVersions::new(pool.clone(), prefix.clone())),
            copy_lifetime: COPY_LIFETIME,
            redis: Some(pool.clone()),
            sessions: Arc::new(RedisSessionStore::new(pool.clone(), prefix.clone())),
            challenges: Arc::new(RedisChallengeStore::new(pool.clone(), prefix.clone())),
            limiter: Arc::new(RedisRateLimiter::new(pool, prefix)),
        })
    }
}

/// What most services are built from: accounts, credentials, throttling and the audit trail.
struct Core {
    signing_keys: Arc<SigningKeys>,
    key_pairs: bool,
    clock: Arc<dyn Clock>,
    audit_log: Arc<dyn AuditLog>,
    audit: Arc<Auditor>,
    throttle: Arc<Throttle>,
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    accounts: Arc<UserService>,
    tokens: Arc<TokenService>,
    sessions: Arc<SessionService>,
    revocation: Arc<Revocation>,
    devices: Arc<DeviceService>,
    cursors: CursorCodec,
    probes: Vec<Arc<dyn HealthProbe>>,
    factor_secrets: Arc<dyn SecondFactorSecrets>,
    challenges: Arc<dyn ChallengeStore>,
}

impl Core {
    fn build(
        config: &Config,
        db: &DatabaseConnection,
        shared: SharedStores,
    ) -> anyhow::Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let audit_log: Arc<dyn AuditLog> = Arc::new(SeaOrmAuditLog::new(db.clone()));
        let audit = Arc::new(Auditor::new(audit_log.clone(), clock.clone()));
        let throttle = Arc::new(Throttle::new(
            shared.limiter,
            config.throttle,
            audit.clone(),
        ));
        let stored: Arc<dyn UserRepository> = Arc::new(SeaOrmUserRepository::new(db.clone()));
        let account_cache = Arc::new(AccountCache::new(
            stored.clone(),
            shared.versions,
            ACCOUNT_COPIES,
            shared.copy_lifetime,
        ));
        if let Some(pool) = &shared.redis {
            let cache = account_cache.clone();
            redis_adapter::on_reconnect(pool, move || cache.forget_all());
        }
        let users: Arc<dyn UserRepository> =
            Arc::new(VersionedUserRepository::new(stored, account_cache.clone()));
        let hasher: Arc<dyn PasswordHasher> = Arc::new(BcryptHasher::new(
            config.hashing.bcrypt_cost,
            config.hashing.concurrency,
        )?);
        let signing = Signing::build(config, db, clock.clone())?;
        let factor_secrets = Arc::new(SealedFactorSecrets::new(
            signing.master_keys.clone(),
            FACTOR_ISSUER,
        )?);
        let cursors = CursorCodec::new(derive_key(&signing.secret, "gatehouse cursor key"));
        let tokens = Arc::new(TokenService::new(
            Arc::new(JwtCodec::new(&signing.jwt)),
            shared.tokens,
            clock.clone(),
            config.tokens,
        ));
        let sessions = Arc::new(SessionService::new(
            shared.sessions,
            clock.clone(),
            config.sessions,
        ));
        let revocation = Arc::new(Revocation::new(tokens.clone(), sessions.clone()));
        let accounts = Arc::new(
            UserService::new(
                users.clone(),
                hasher.clone(),
                clock.clone(),
                PasswordPolicy::default(),
            )
            .with_cache(account_cache),
        );
        let devices = Arc::new(DeviceService::new(
            Arc::new(SeaOrmDeviceRepository::new(db.clone())),
            tokens.clone(),
            sessions.clone(),
            accounts.clone(),
            clock.clone(),
            audit.clone(),
        ));
        Ok(Self {
            signing_keys: signing.keys,
            key_pairs: signing.key_pairs,
            clock,
            audit_log,
            audit,
            throttle,
            users,
            hasher,
            accounts,
            tokens,
            sessions,
            revocation,
            devices,
            cursors,
            probes: shared.probes,
            factor_secrets,
            challenges: shared.challenges,
        })
    }
}

/// How tokens are signed: the key ring (and the service that rotates it) or the HS256
/// secret; and the deployment secret other keys are derived from.
struct Signing {
    jwt: JwtSettings,
    keys: Arc<SigningKeys>,
    /// Key pairs sign (else the HS256 secret does, and the JWKS is empty).
    key_pairs: bool,
    secret: SecretString,
    /// What seals second-factor secrets too.
    master_keys: MasterKeys,
}

impl Signing {
    fn build(
        config: &Config,
        db: &DatabaseConnection,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let settings = &config.signing;
        let master_text = master_key_text(config);
        let master = |text: &SecretString, name: &str| {
            MasterKey::from_base64(text.expose_secret())
                .with_context(|| format!("{name} is not a key"))
        };
        let master_keys = MasterKeys {
            current: master(&master_text, "GATEHOUSE_MASTER_KEY")?,
            previous: settings
                .master_key_previous
                .as_ref()
                .map(|text| master(text, "GATEHOUSE_MASTER_KEY_PREVIOUS"))
                .transpose()?,
        };
        let longest_token = config.tokens.access_ttl.max(config.tokens.refresh_ttl);
        let policy = RotationPolicy::new(
            settings.rotate_every,
            settings.jwks_max_age,
            longest_token,
            CLOCK_SKEW,
        );
        let store = Arc::new(SeaOrmSigningKeyStore::new(db.clone()));
        let ring = Arc::new(ArcSwap::from_pointee(KeyRing::default()));
        // While HS256 signs, the key prepared for a later move is the default algorithm's.
        let algorithm = match settings.algorithm {
            TokenAlgorithm::Asymmetric(algorithm) => algorithm,
            TokenAlgorithm::Hs256 => KeyAlgorithm::EdDsa,
        };
        let material = Arc::new(SealedKeyMaterial::rotating(
            master_keys.clone(),
            algorithm,
            ring.clone(),
        ));
        let mut jwt = JwtSettings::key_pairs(ring, &settings.issuer, &settings.audience);
        if settings.algorithm == TokenAlgorithm::Hs256 {
            let secret = jwt_secret(config);
            jwt.secret = Some(secret.clone());
            jwt.verify_only = settings.verify_only.clone();
            return Ok(Self {
                jwt,
                keys: Arc::new(SigningKeys::preparing(store, material, policy, clock)),
                key_pairs: false,
                secret,
                master_keys,
            });
        }
        // The HS256 tokens issued before the move (by any instance, until each noticed it)
        // verify for one token lifetime of their kind after it, under the secrets that
        // signed them; none after that.
        jwt.verify_only = settings
            .jwt_secret
            .iter()
            .chain(&settings.verify_only)
            .cloned()
            .collect();
        jwt.hs256_notice = settings.jwks_max_age + CLOCK_SKEW;
        jwt.hs256_lifetimes = TokenLifetimes {
            access: config.tokens.access_ttl + CLOCK_SKEW,
            refresh: config.tokens.refresh_ttl + CLOCK_SKEW,
        };
        // Moving from HS256: until a key may sign, the secret still does.
        jwt.interim_secret = settings.jwt_secret.clone();
        let keys = SigningKeys::new(store, material, policy, clock);
        let keys = if settings.jwt_secret.is_some() {
            keys.preparing_first_key()
        } else {
            keys
        };
        Ok(Self {
            jwt,
            keys: Arc::new(keys),
            key_pairs: true,
            secret: master_text,
            master_keys,
        })
    }
}

const KEYS_DO_NOT_LOAD: &str = "the signing keys do not load (when a key does not open, \
    GATEHOUSE_MASTER_KEY is not the key that sealed it, or its row was changed)";

/// How far apart the instances' clocks may be, in the key rotation's timings.
const CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(60);

/// Development without `GATEHOUSE_MASTER_KEY` seals with this fixed key, so keys survive
/// restarts and are shared by instances and the `keys` commands (production refuses it).
const DEVELOPMENT_MASTER_KEY: &str = "Z2F0ZWhvdXNlLWRldmVsb3BtZW50LW1hc3Rlci1rZXk=";

fn master_key_text(config: &Config) -> SecretString {
    config.signing.master_key.clone().unwrap_or_else(|| {
        tracing::warn!(
            "GATEHOUSE_MASTER_KEY is not set: signing keys are sealed with the fixed development \
             key; set it (32 random bytes, base64) anywhere but on a developer's machine"
        );
        DEVELOPMENT_MASTER_KEY.into()
    })
}

/// Background work: task records, the queue, and what workers run.
struct Jobs {
    records: Arc<dyn TaskRepository>,
    queue: ApalisJobQueue,
    tasks: Arc<TaskService>,
    outbox: Arc<EmailOutbox>,
    runner: Arc<JobRunner>,
    email_tokens: Arc<dyn EmailTokenStore>,
}

impl Jobs {
    async fn build(config: &Config, db: &DatabaseConnection, core: &Core) -> anyhow::Result<Self> {
        let records: Arc<dyn TaskRepository> = Arc::new(SeaOrmTaskRepository::new(db.clone()));
        let queue = match (config.workers.store, &config.redis.url) {
            (JobStore::Redis, Some(url)) => {
                ApalisJobQueue::connect_redis(url, &config.redis.prefix, config.queue).await?
            }
            _ => ApalisJobQueue::connect(&config.database.url, config.queue).await?,
        };
        let tasks = Arc::new(TaskService::new(
            records.clone(),
            Arc::new(queue.clone()),
            core.accounts.clone(),
            core.throttle.clone(),
            config.tasks,
            core.clock.clone(),
        ));
        let email_tokens: Arc<dyn EmailTokenStore> =
            Arc::new(SeaOrmEmailTokenStore::new(db.clone()));
        let emails = EmailJobs::new(
            core.users.clone(),
            email_tokens.clone(),
            mailer(config)?,
            core.audit.clone(),
            core.clock.clone(),
            config.emails.clone(),
        );
        let runner = Arc::new(JobRunner::new(
            records.clone(),
            Arc::new(emails),
            core.clock.clone(),
            config.jobs,
        ));
        Ok(Self {
            outbox: Arc::new(EmailOutbox::new(tasks.clone())),
            records,
            queue,
            tasks,
            runner,
            email_tokens,
        })
    }
}

/// SMTP when configured, else `.eml` files (development).
fn mailer(config: &Config) -> anyhow::Result<Arc<dyn Mailer>> {
    let sender = parse_sender(&config.mail.from)?;
    Ok(match &config.mail.smtp_url {
        Some(url) => Arc::new(SmtpMailer::new(url, sender)?),
        None => Arc::new(FileMailer::new(&config.mail.dir, sender)),
    })
}

/// The services the HTTP layer calls, one per capability.
fn app_state(
    config: &Config,
    db: &DatabaseConnection,
    core: &Core,
    jobs: &Jobs,
) -> anyhow::Result<AppState> {
    let public_url = config.server.public_url.trim_end_matches('/');
    let files = Arc::new(LocalFileStorage::new(
        &config.media_dir,
        format!("{public_url}/media"),
    ));
    let recovery = AccountRecovery::new(RecoveryParts {
        users: core.users.clone(),
        hasher: core.hasher.clone(),
        tokens: jobs.email_tokens.clone(),
        outbox: jobs.outbox.clone(),
        throttle: core.throttle.clone(),
        revocation: core.revocation.clone(),
        audit: core.audit.clone(),
        clock: core.clock.clone(),
        policy: PasswordPolicy::default(),
    });
    let factors = Arc::new(SecondFactors::new(FactorParts {
        store: Arc::new(SeaOrmFactorStore::new(db.clone())),
        secrets: core.factor_secrets.clone(),
        passkeys: Arc::new(relying_party(config)),
        challenges: core.challenges.clone(),
        users: core.users.clone(),
        accounts: core.accounts.clone(),
        hasher: core.hasher.clone(),
        throttle: core.throttle.clone(),
        revocation: core.revocation.clone(),
        audit: core.audit.clone(),
        outbox: jobs.outbox.clone(),
        clock: core.clock.clone(),
        settings: FactorSettings {
            issuer: FACTOR_ISSUER.into(),
            challenge_ttl: config.webauthn.challenge_ttl,
            ..FactorSettings::default()
        },
    }));
    let auth = AuthService::new(AuthParts {
        users: core.users.clone(),
        hasher: core.hasher.clone(),
        tokens: core.tokens.clone(),
        sessions: core.sessions.clone(),
        accounts: core.accounts.clone(),
        throttle: core.throttle.clone(),
        devices: core.devices.clone(),
        revocation: core.revocation.clone(),
        audit: core.audit.clone(),
        outbox: jobs.outbox.clone(),
        factors: factors.clone(),
        clock: core.clock.clone(),
    });
    let profiles = ProfileService::new(ProfileParts {
        users: core.users.clone(),
        accounts: core.accounts.clone(),
        hasher: core.hasher.clone(),
        files,
        revocation: core.revocation.clone(),
        throttle: core.throttle.clone(),
        audit: core.audit.clone(),
        clock: core.clock.clone(),
        policy: PasswordPolicy::default(),
        email_tokens: jobs.email_tokens.clone(),
        avatar_max_bytes: config.web.avatar_max_bytes,
    });
    Ok(AppState {
        metrics: MetricsEndpoint {
            exposition: Arc::new(PrometheusMetrics::new(db.clone(), jobs.queue.counters())?),
            token: config.server.metrics_token.clone(),
        },
        auth: Arc::new(auth),
        admin: Arc::new(UserAdminService::new(UserAdminParts {
            users: core.users.clone(),
            devices: Arc::new(SeaOrmDeviceRepository::new(db.clone())),
            accounts: core.accounts.clone(),
            revocation: core.revocation.clone(),
            audit: core.audit.clone(),
            clock: core.clock.clone(),
            cursors: core.cursors.clone(),
        })),
        profiles: Arc::new(profiles),
        credits: Arc::new(CreditService::new(
            Arc::new(SeaOrmCreditLedger::new(db.clone())),
            core.accounts.clone(),
            core.audit.clone(),
            core.clock.clone(),
        )),
        pre_registrations: Arc::new(PreRegistrationService::new(PreRegistrationParts {
            store: Arc::new(SeaOrmPreRegistrations::new(db.clone())),
            throttle: core.throttle.clone(),
            accounts: core.accounts.clone(),
            audit: core.audit.clone(),
            clock: core.clock.clone(),
            cursors: core.cursors.clone(),
        })),
        catalog: Arc::new(CatalogService::new(
            Arc::new(SeaOrmCategoryRepository::new(db.clone())),
            Arc::new(SeaOrmProductRepository::new(db.clone())),
            core.accounts.clone(),
            core.audit.clone(),
            core.clock.clone(),
            core.cursors.clone(),
        )),
        audit: Arc::new(AuditService::new(
            core.audit_log.clone(),
            core.accounts.clone(),
            core.cursors.clone(),
            core.clock.clone(),
        )),
        jobs: Arc::new(JobMonitor::new(JobMonitorParts {
            tasks: jobs.records.clone(),
            queue: Arc::new(jobs.queue.clone()),
            accounts: core.accounts.clone(),
            audit: core.audit.clone(),
            clock: core.clock.clone(),
            cursors: core.cursors.clone(),
        })),
        users: core.accounts.clone(),
        tokens: core.tokens.clone(),
        tasks: jobs.tasks.clone(),
        recovery: Arc::new(recovery),
        factors,
        health: Arc::new(HealthService::new(core.probes.clone())),
        sessions: core.sessions.clone(),
        devices: core.devices.clone(),
        web: Arc::new(config.web.clone()),
        jwks: JwksEndpoint {
            // An HS256 deployment publishes no key, even the one it prepares.
            keys: core.key_pairs.then(|| core.signing_keys.clone()),
            max_age: config.signing.jwks_max_age,
        },
    })
}

/// The name authenticator apps and passkey prompts show.
const FACTOR_ISSUER: &str = "Gatehouse";

/// The WebAuthn relying party; passkeys answer 503 (and the rest runs) when it cannot work
/// here, which is said once at start.
fn relying_party(config: &Config) -> WebauthnPasskeys {
    let settings = &config.webauthn;
    let passkeys = WebauthnPasskeys::new(&settings.rp_id, &settings.origin, FACTOR_ISSUER);
    if let Some(reason) = passkeys.unavailable_reason() {
        tracing::warn!(
            "passkeys are unavailable: {reason}; set GATEHOUSE_WEBAUTHN_RP_ID and \
             GATEHOUSE_WEBAUTHN_ORIGIN (or a GATEHOUSE_PUBLIC_URL with a domain name)"
        );
    }
    passkeys
}

fn redis_pool_size(config: &Config) -> usize {
    (config.server.http_workers * 2).clamp(2, 32)
}

/// A key for one purpose, derived from the deployment secret: rotating the secret rotates it.
fn derive_key(secret: &SecretString, purpose: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    hasher.update([0]);
    hasher.update(secret.expose_secret().as_bytes());
    hasher.finalize().to_vec()
}

/// The configured secret, or (development only; production config refuses to load without
/// one) a random one: tokens then die with the process.
fn jwt_secret(config: &Config) -> SecretString {
    config.signing.jwt_secret.clone().unwrap_or_else(|| {
        tracing::warn!("GATEHOUSE_JWT_SECRET is not set: using a random secret; tokens will not survive a restart");
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes).into()
    })
}

/// A bound, not yet running HTTP server, and the embedded job worker when configured.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    state: AppState,
    worker: Option<EmbeddedWorker>,
    key_rotation: tokio::task::JoinHandle<()>,
}

/// A job worker running inside `serve` (the embedded default), stopped with the server.
struct EmbeddedWorker {
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    pruning: tokio::task::JoinHandle<()>,
}

/// Housekeeping every worker runs, at once and then every `GATEHOUSE_AUDIT_PRUNE_INTERVAL`,
/// until the handle is aborted.
fn spawn_housekeeping(
    config: &Config,
    housekeeping: Arc<Housekeeping>,
) -> tokio::task::JoinHandle<()> {
    let interval = config.workers.housekeeping_interval;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match housekeeping.sweep().await {
                Ok(swept) if swept == Swept::default() => {}
                Ok(swept) => tracing::info!(
                    audit_events = swept.audit_events,
                    finished_jobs = swept.finished_jobs,
                    "deleted what was past its retention"
                ),
                Err(error) => tracing::warn!(error = %error, "housekeeping failed"),
            }
        }
    })
}

/// Every serving instance, every half max-age: rotates the signing keys when they are due
/// (the store lets one instance win each step) and loads what any instance changed, so a
/// rotation is noticed within `GATEHOUSE_JWKS_MAX_AGE`. A failed round keeps the keys
/// loaded before.
fn spawn_key_rotation(config: &Config, keys: Arc<SigningKeys>) -> tokio::task::JoinHandle<()> {
    let period = (config.signing.jwks_max_age / 2).max(std::time::Duration::from_secs(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(error) = keys.maintain(false).await {
                tracing::error!(error = %error, "signing key rotation failed; keeping the keys loaded");
            }
        }
    })
}

/// Logs what the configuration allows but an operator should hear about.
fn warn_about(config: &Config) {
    for warning in config.startup_warnings() {
        tracing::warn!("{warning}");
    }
}

/// A worker name unique among live workers: apalis locks jobs by worker name and re-queues a
/// dead worker's jobs to the others.
pub fn worker_name(role: &str) -> String {
    format!("gatehouse-{role}-{}", uuid::Uuid::new_v4())
}

/// Runs one job worker until `shutdown` resolves (`gatehouse worker`), answering
/// `/health/live` and `/metrics` on `config.server.worker_addr` meanwhile.
pub async fn run_worker(
    config: &Config,
    components: Components,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metrics = components.state.metrics.clone();
    let probes = HttpServer::new(move || gatehouse_http::process_app(metrics.clone()))
        .workers(1)
        // The worker's own shutdown stops this server; it must not react to signals itself.
        .disable_signals()
        .bind(config.server.worker_addr)
        .with_context(|| format!("cannot bind {}", config.server.worker_addr))?
        .run();
    let probes_handle = probes.handle();
    let probes = tokio::spawn(probes);
    warn_about(config);
    let pruning = spawn_housekeeping(config, components.housekeeping.clone());
    let name = worker_name("worker");
    tracing::info!(worker = name, addr = %config.server.worker_addr, "job worker started");
    let worked = components
        .queue
        .run_worker(name, components.runner, shutdown)
        .await;
    pruning.abort();
    probes_handle.stop(true).await;
    let _ = probes.await;
    worked
}

impl Application {
    /// Builds everything and binds `config.server.addr` (port 0 picks a free port).
    pub async fn build(config: &Config, migrate: bool) -> anyhow::Result<Self> {
        let components = Components::build(config, migrate).await?;
        warn_about(config);
        let listener = TcpListener::bind(config.server.addr)
            .with_context(|| format!("cannot bind {}", config.server.addr))?;
        let addr = listener.local_addr()?;
        let worker = config.workers.embedded.then(|| {
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let (queue, runner) = (components.queue.clone(), components.runner.clone());
            let handle = tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                queue
                    .run_worker(worker_name("embedded"), runner, shutdown)
                    .await
            });
            let pruning = spawn_housekeeping(config, components.housekeeping.clone());
            EmbeddedWorker {
                stop,
                handle,
                pruning,
            }
        });
        // A first start creates the first key; then every half max-age.
        components
            .signing_keys
            .maintain(false)
            .await
            .map_err(anyhow::Error::from)
            .context(KEYS_DO_NOT_LOAD)?;
        let key_rotation = spawn_key_rotation(config, components.signing_keys.clone());
        let state = components.state;
        let served = state.clone();
        let server = HttpServer::new(move || gatehouse_http::build_app(served.clone()))
            .workers(config.server.http_workers)
            // On SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to 30 s).
            .shutdown_timeout(30)
            .listen(listener)?
            .run();
        Ok(Self {
            server,
            addr,
            state,
            worker,
            key_rotation,
        })
    }

    /// The services behind the server (for operator commands and tests).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until a shutdown signal, then drains, and stops the embedded worker (a job it
    /// was running is re-queued for the next worker if it does not finish in time).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.key_rotation.abort();
        if let Some(worker) = self.worker {
            worker.pruning.abort();
            let _ = worker.stop.send(());
            match tokio::time::timeout(std::time::Duration::from_secs(30), worker.handle).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(error))) => tracing::error!(error = %error, "job worker failed"),
                Ok(Err(error)) => tracing::error!(error = %error, "job worker panicked"),
                Err(_) => tracing::warn!("job worker did not stop within 30 s"),
            }
        }
        served
    }
}
