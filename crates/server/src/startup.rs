//! The composition root: configuration in, running service out.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::HttpServer;
use actix_web::dev::Server;
use anyhow::Context;
use base64::Engine;
use gatehouse_application::ports::{
    AuditLog, Clock, EmailTokenStore, HealthProbe, Mailer, PasswordHasher, RateLimit, RateLimiter,
    SessionStore, TaskRepository, TokenStore, UserRepository,
};
use gatehouse_application::{
    AccountRecovery, AuditService, Auditor, AuthParts, AuthService, CatalogService, CreditService,
    CursorCodec, DeviceService, EmailJobs, EmailOutbox, EmailSettings, HealthService, Housekeeping,
    HousekeepingSettings, JobRunner, JobSettings, PreRegistrationService, ProfileParts,
    ProfileService, RecoveryParts, Revocation, SessionService, SessionSettings, Swept, TaskLimits,
    TaskService, Throttle, ThrottleSettings, TokenService, TokenSettings, UserAdminService,
    UserService,
};
use gatehouse_domain::PasswordPolicy;
use gatehouse_http::{AppState, MetricsEndpoint, WebSettings};
use gatehouse_infrastructure::database::{
    self, DatabaseProbe, SeaOrmAuditLog, SeaOrmCategoryRepository, SeaOrmCreditLedger,
    SeaOrmDeviceRepository, SeaOrmEmailTokenStore, SeaOrmPreRegistrations, SeaOrmProductRepository,
    SeaOrmTaskRepository, SeaOrmUserRepository,
};
use gatehouse_infrastructure::files::LocalFileStorage;
use gatehouse_infrastructure::jobs::{ApalisJobQueue, QueueSettings};
use gatehouse_infrastructure::mail::{FileMailer, SmtpMailer, parse_sender};
use gatehouse_infrastructure::rate_limit::RedisRateLimiter;
use gatehouse_infrastructure::redis::{self as redis_adapter, RedisProbe};
use gatehouse_infrastructure::sessions::RedisSessionStore;
use gatehouse_infrastructure::tokens::{JwtCodec, JwtSettings, RedisTokenStore};
use gatehouse_infrastructure::{BcryptHasher, SystemClock};
use gatehouse_memory::{
    InMemoryHealthProbe, InMemoryRateLimiter, InMemorySessionStore, InMemoryTokenStore,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::Config;
use crate::config::JobStore;
use crate::metrics::PrometheusMetrics;

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
}

impl Components {
    /// Connects to the configured stores and builds the services. Applies pending migrations
    /// when `migrate` is set.
    pub async fn build(config: &Config, migrate: bool) -> anyhow::Result<Self> {
        let db = database::open(
            &config.database_url,
            config.database_max_connections,
            migrate,
        )
        .await?;
        let mut probes: Vec<Arc<dyn HealthProbe>> = vec![Arc::new(DatabaseProbe::new(db.clone()))];
        let stores = match &config.redis_url {
            Some(url) => {
                let pool = redis_adapter::connect(url, redis_pool_size(config)).await?;
                probes.push(Arc::new(RedisProbe::new(pool.clone())));
                let prefix = config.redis_prefix.clone();
                SharedStores {
                    tokens: Arc::new(RedisTokenStore::new(pool.clone(), prefix.clone())),
                    sessions: Arc::new(RedisSessionStore::new(pool.clone(), prefix.clone())),
                    limiter: Arc::new(RedisRateLimiter::new(pool, prefix)),
                }
            }
            None => {
                let tokens = Arc::new(InMemoryTokenStore::new());
                probes.push(Arc::new(InMemoryHealthProbe::cache(tokens.clone())));
                SharedStores {
                    tokens,
                    sessions: Arc::new(InMemorySessionStore::new()),
                    limiter: Arc::new(InMemoryRateLimiter::new()),
                }
            }
        };
        let (token_store, session_store) = (stores.tokens, stores.sessions);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let audit_log: Arc<dyn AuditLog> = Arc::new(SeaOrmAuditLog::new(db.clone()));
        let audit = Arc::new(Auditor::new(audit_log.clone(), clock.clone()));
        let throttle = Arc::new(Throttle::new(
            stores.limiter,
            throttle_settings(config),
            audit.clone(),
        ));
        let users: Arc<dyn UserRepository> = Arc::new(SeaOrmUserRepository::new(db.clone()));
        let hasher: Arc<dyn PasswordHasher> = Arc::new(BcryptHasher::new(
            config.bcrypt_cost,
            config.hash_concurrency,
        )?);
        let secret = jwt_secret(config);
        let cursors = CursorCodec::new(derive_key(&secret, "gatehouse cursor key"));
        let codec = Arc::new(JwtCodec::new(&JwtSettings {
            secret,
            verify_only: config.jwt_verify_only.clone(),
            issuer: "gatehouse".into(),
            audience: "gatehouse".into(),
        }));
        let tokens = Arc::new(TokenService::new(
            codec,
            token_store,
            clock.clone(),
            TokenSettings {
                access_ttl: config.access_token_ttl,
                refresh_ttl: config.refresh_token_ttl,
                absolute_ttl: config.refresh_absolute_ttl,
                reuse_grace: config.refresh_reuse_grace,
            },
        ));
        let sessions = Arc::new(SessionService::new(
            session_store,
            clock.clone(),
            SessionSettings {
                idle_ttl: config.session_ttl,
                absolute_ttl: config.session_absolute_ttl,
            },
        ));
        let revocation = Arc::new(Revocation::new(tokens.clone(), sessions.clone()));
        let accounts = Arc::new(UserService::new(
            users.clone(),
            hasher.clone(),
            clock.clone(),
            PasswordPolicy::default(),
        ));
        let devices = Arc::new(DeviceService::new(
            Arc::new(SeaOrmDeviceRepository::new(db.clone())),
            tokens.clone(),
            sessions.clone(),
            accounts.clone(),
            clock.clone(),
            audit.clone(),
        ));
        let email_tokens: Arc<dyn EmailTokenStore> =
            Arc::new(SeaOrmEmailTokenStore::new(db.clone()));
        let task_records: Arc<dyn TaskRepository> = Arc::new(SeaOrmTaskRepository::new(db.clone()));
        let queue_settings = QueueSettings {
            max_attempts: config.job_max_attempts,
            first_backoff: config.job_backoff,
            heartbeat: config.job_heartbeat,
            concurrency: config.job_concurrency,
            ..QueueSettings::default()
        };
        let queue = match (config.job_store, &config.redis_url) {
            (JobStore::Redis, Some(url)) => {
                ApalisJobQueue::connect_redis(url, &config.redis_prefix, queue_settings).await?
            }
            _ => ApalisJobQueue::connect(&config.database_url, queue_settings).await?,
        };
        let tasks = Arc::new(TaskService::new(
            task_records.clone(),
            Arc::new(queue.clone()),
            accounts.clone(),
            throttle.clone(),
            TaskLimits {
                max_open: config.tasks_max_open,
            },
            clock.clone(),
        ));
        let outbox = Arc::new(EmailOutbox::new(tasks.clone()));
        let sender = parse_sender(&config.mail_from)?;
        let mailer: Arc<dyn Mailer> = match &config.smtp_url {
            Some(url) => Arc::new(SmtpMailer::new(url, sender)?),
            None => Arc::new(FileMailer::new(&config.mail_dir, sender)),
        };
        let email_settings = EmailSettings {
            public_url: config.public_url.trim_end_matches('/').to_owned(),
            verification_ttl: config.verification_token_ttl,
            reset_ttl: config.reset_token_ttl,
        };
        let runner = Arc::new(JobRunner::new(
            task_records.clone(),
            Arc::new(EmailJobs::new(
                users.clone(),
                email_tokens.clone(),
                mailer,
                audit.clone(),
                clock.clone(),
                email_settings,
            )),
            clock.clone(),
            JobSettings {
                max_attempts: config.job_max_attempts,
                step: config.task_step,
            },
        ));
        let recovery = Arc::new(AccountRecovery::new(RecoveryParts {
            users: users.clone(),
            hasher: hasher.clone(),
            tokens: email_tokens.clone(),
            outbox: outbox.clone(),
            throttle: throttle.clone(),
            revocation: revocation.clone(),
            audit: audit.clone(),
            clock: clock.clone(),
            policy: PasswordPolicy::default(),
        }));
        let files = Arc::new(LocalFileStorage::new(
            &config.media_dir,
            format!("{}/media", config.public_url.trim_end_matches('/')),
        ));
        let metrics = MetricsEndpoint {
            exposition: Arc::new(PrometheusMetrics::new(db.clone(), queue.counters())?),
            token: config.metrics_token.clone(),
        };
        let state = AppState {
            metrics,
            auth: Arc::new(AuthService::new(AuthParts {
                users: users.clone(),
                hasher: hasher.clone(),
                tokens: tokens.clone(),
                sessions: sessions.clone(),
                accounts: accounts.clone(),
                throttle: throttle.clone(),
                devices: devices.clone(),
                revocation: revocation.clone(),
                audit: audit.clone(),
                outbox,
                clock: clock.clone(),
            })),
            admin: Arc::new(UserAdminService::new(
                users.clone(),
                accounts.clone(),
                revocation.clone(),
                audit.clone(),
                clock.clone(),
                cursors.clone(),
            )),
            profiles: Arc::new(ProfileService::new(ProfileParts {
                users: users.clone(),
                accounts: accounts.clone(),
                hasher: hasher.clone(),
                files,
                revocation,
                throttle: throttle.clone(),
                audit: audit.clone(),
                clock: clock.clone(),
                policy: PasswordPolicy::default(),
                email_tokens,
                avatar_max_bytes: config.avatar_max_bytes,
            })),
            credits: Arc::new(CreditService::new(
                Arc::new(SeaOrmCreditLedger::new(db.clone())),
                accounts.clone(),
                audit,
                clock.clone(),
            )),
            pre_registrations: Arc::new(PreRegistrationService::new(
                Arc::new(SeaOrmPreRegistrations::new(db.clone())),
                throttle,
                clock.clone(),
            )),
            catalog: Arc::new(CatalogService::new(
                Arc::new(SeaOrmCategoryRepository::new(db.clone())),
                Arc::new(SeaOrmProductRepository::new(db.clone())),
                accounts.clone(),
                clock.clone(),
                cursors.clone(),
            )),
            audit: Arc::new(AuditService::new(
                audit_log.clone(),
                accounts.clone(),
                cursors,
            )),
            users: accounts,
            tokens,
            tasks,
            recovery,
            health: Arc::new(HealthService::new(probes)),
            sessions,
            devices,
            web: Arc::new(WebSettings {
                cookie_secure: config.cookie_secure,
                cookie_max_age: config.session_absolute_ttl,
                trusted_origins: std::iter::once(config.public_origin())
                    .chain(config.cors_origins.iter().cloned())
                    .collect(),
                trusted_proxies: config.trusted_proxies.clone(),
                cors_origins: config.cors_origins.clone(),
                avatar_max_bytes: config.avatar_max_bytes,
            }),
        };
        let housekeeping = Arc::new(Housekeeping::new(
            audit_log,
            task_records,
            clock,
            HousekeepingSettings {
                audit_retention: config.audit_retention,
            },
        ));
        Ok(Self {
            state,
            users,
            hasher,
            queue,
            runner,
            housekeeping,
        })
    }
}

/// The state every instance must share: in Redis when configured, else in this process.
struct SharedStores {
    tokens: Arc<dyn TokenStore>,
    sessions: Arc<dyn SessionStore>,
    limiter: Arc<dyn RateLimiter>,
}

fn throttle_settings(config: &Config) -> ThrottleSettings {
    let fifteen_minutes = std::time::Duration::from_secs(15 * 60);
    ThrottleSettings {
        login_failures_per_account: RateLimit {
            limit: config.login_failures_per_account,
            window: config.login_failure_window,
        },
        login_failures_per_address: RateLimit {
            limit: config.login_failures_per_address,
            window: config.login_failure_window,
        },
        registrations_per_address: RateLimit {
            limit: config.registrations_per_address,
            window: fifteen_minutes,
        },
        refreshes_per_address: RateLimit {
            limit: config.refreshes_per_address,
            window: fifteen_minutes,
        },
        password_resets_per_address: RateLimit {
            limit: config.password_resets_per_address,
            window: fifteen_minutes,
        },
        verification_resends_per_address: RateLimit {
            limit: config.verification_resends_per_address,
            window: fifteen_minutes,
        },
        reset_emails_per_day: RateLimit {
            limit: config.reset_emails_per_day,
            window: std::time::Duration::from_secs(24 * 3600),
        },
        tasks_per_user: RateLimit {
            limit: config.tasks_per_hour,
            window: std::time::Duration::from_secs(3600),
        },
        ..ThrottleSettings::default()
    }
}

fn redis_pool_size(config: &Config) -> usize {
    (config.http_workers * 2).clamp(2, 32)
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
    config.jwt_secret.clone().unwrap_or_else(|| {
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
    let interval = config.audit_prune_interval;
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
/// `/health/live` and `/metrics` on `config.worker_addr` meanwhile.
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
        .bind(config.worker_addr)
        .with_context(|| format!("cannot bind {}", config.worker_addr))?
        .run();
    let probes_handle = probes.handle();
    let probes = tokio::spawn(probes);
    warn_about(config);
    let pruning = spawn_housekeeping(config, components.housekeeping.clone());
    let name = worker_name("worker");
    tracing::info!(worker = name, addr = %config.worker_addr, "job worker started");
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
    /// Builds everything and binds `config.addr` (port 0 picks a free port).
    pub async fn build(config: &Config, migrate: bool) -> anyhow::Result<Self> {
        let components = Components::build(config, migrate).await?;
        warn_about(config);
        let listener = TcpListener::bind(config.addr)
            .with_context(|| format!("cannot bind {}", config.addr))?;
        let addr = listener.local_addr()?;
        let worker = config.embedded_worker.then(|| {
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
        let state = components.state;
        let served = state.clone();
        let server = HttpServer::new(move || gatehouse_http::build_app(served.clone()))
            .workers(config.http_workers)
            // On SIGTERM/SIGINT: stop accepting, let in-flight requests finish (up to 30 s).
            .shutdown_timeout(30)
            .listen(listener)?
            .run();
        Ok(Self {
            server,
            addr,
            state,
            worker,
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
