//! The services of Gatehouse on in-memory adapters, wired in one call.

use std::sync::Arc;

use gatehouse_application::ports::{Clock, JobLane, TokenCodec};
use gatehouse_application::{
    Auditor, AuthParts, AuthService, DeviceService, EmailJobs, EmailOutbox, EmailSettings,
    FactorParts, FactorSettings, JobRunner, JobSettings, Revocation, SecondFactors, SessionService,
    SessionSettings, TaskLimits, TaskService, Throttle, ThrottleSettings, TokenService,
    TokenSettings, UserService,
};
use gatehouse_domain::PasswordPolicy;

use crate::{
    InMemoryAuditLog, InMemoryChallengeStore, InMemoryDeviceRepository, InMemoryEmailTokenStore,
    InMemoryFactorSecrets, InMemoryFactorStore, InMemoryJobQueue, InMemoryMailer,
    InMemoryPasswordHasher, InMemoryRateLimiter, InMemorySessionStore, InMemoryTaskRepository,
    InMemoryTokenCodec, InMemoryTokenStore, InMemoryUserRepository, NoPasskeys, SystemClock,
};

/// Gatehouse's account services on in-memory adapters: sign-up, login, token checks,
/// sessions and devices, with the emails they queue kept in [`Embedded::mailer`].
///
/// ```no_run
/// # async fn run() -> anyhow::Result<()> {
/// let gatehouse = gatehouse_memory::Embedded::builder().build()?;
/// // gatehouse.auth.register(..), gatehouse.auth.login(..), gatehouse.tokens.authenticate(..)
/// # Ok(()) }
/// ```
pub struct Embedded {
    /// Sign-up, login, refresh, logout.
    pub auth: Arc<AuthService>,
    /// Access-token checks (`authenticate`) and refresh rotation.
    pub tokens: Arc<TokenService>,
    /// Cookie sessions.
    pub sessions: Arc<SessionService>,
    /// Accounts.
    pub accounts: Arc<UserService>,
    /// Devices signed in from.
    pub devices: Arc<DeviceService>,
    /// Second factors (an authenticator app and recovery codes; no passkeys).
    pub factors: Arc<SecondFactors>,
    /// Background tasks (the queued emails are tasks too).
    pub tasks: Arc<TaskService>,
    /// The users, to read or seed directly.
    pub users: Arc<InMemoryUserRepository>,
    /// The audit log.
    pub audit_log: Arc<InMemoryAuditLog>,
    /// Every email sent by [`Embedded::run_pending_jobs`].
    pub mailer: Arc<InMemoryMailer>,
    /// The job queue the services fill.
    pub queue: Arc<InMemoryJobQueue>,
    /// Runs queued jobs.
    pub runner: Arc<JobRunner>,
}

impl Embedded {
    /// Settings to adjust before [`EmbeddedBuilder::build`].
    pub fn builder() -> EmbeddedBuilder {
        EmbeddedBuilder::default()
    }

    /// Runs every job waiting in either lane (account emails, tasks) once, here and now;
    /// how many ran. For an always-on worker, spawn [`InMemoryJobQueue::work`] instead.
    pub async fn run_pending_jobs(&self) -> anyhow::Result<usize> {
        let mut ran = 0;
        for lane in [JobLane::Email, JobLane::Task] {
            while let Some(id) = self.queue.try_next(lane)? {
                if let Err(failure) = self.runner.run(id, 1).await {
                    tracing::warn!(task = %id, %failure, "embedded job failed");
                }
                ran += 1;
            }
        }
        Ok(ran)
    }
}

/// How to build an [`Embedded`].
pub struct EmbeddedBuilder {
    password_cost: u32,
    clock: Arc<dyn Clock>,
    tokens: TokenSettings,
    sessions: SessionSettings,
    throttle: ThrottleSettings,
    emails: EmailSettings,
}

impl Default for EmbeddedBuilder {
    fn default() -> Self {
        Self {
            password_cost: InMemoryPasswordHasher::DEFAULT_COST,
            clock: Arc::new(SystemClock),
            tokens: TokenSettings::default(),
            sessions: SessionSettings::default(),
            throttle: ThrottleSettings::default(),
            emails: EmailSettings::default(),
        }
    }
}

impl EmbeddedBuilder {
    /// bcrypt cost (default [`InMemoryPasswordHasher::DEFAULT_COST`]; tests may use
    /// [`InMemoryPasswordHasher::TEST_COST`]).
    pub fn password_cost(mut self, cost: u32) -> Self {
        self.password_cost = cost;
        self
    }

    /// The clock every service and the token codec read (default: the wall clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Token lifetimes.
    pub fn token_settings(mut self, settings: TokenSettings) -> Self {
        self.tokens = settings;
        self
    }

    /// Session lifetimes.
    pub fn session_settings(mut self, settings: SessionSettings) -> Self {
        self.sessions = settings;
        self
    }

    /// Guessing limits.
    pub fn throttle_settings(mut self, settings: ThrottleSettings) -> Self {
        self.throttle = settings;
        self
    }

    /// Links and lifetimes of account emails.
    pub fn email_settings(mut self, settings: EmailSettings) -> Self {
        self.emails = settings;
        self
    }

    /// Wires the services. Fails only on an impossible password cost.
    pub fn build(self) -> anyhow::Result<Embedded> {
        let clock = self.clock;
        let users = Arc::new(InMemoryUserRepository::new());
        let hasher = Arc::new(InMemoryPasswordHasher::new(self.password_cost)?);
        let audit_log = Arc::new(InMemoryAuditLog::new());
        let audit = Arc::new(Auditor::new(audit_log.clone(), clock.clone()));
        let throttle = Arc::new(Throttle::new(
            Arc::new(InMemoryRateLimiter::new()),
            self.throttle,
            audit.clone(),
        ));
        let codec: Arc<dyn TokenCodec> = Arc::new(InMemoryTokenCodec::with_clock(clock.clone()));
        let tokens = Arc::new(TokenService::new(
            codec,
            Arc::new(InMemoryTokenStore::new()),
            clock.clone(),
            self.tokens,
        ));
        let sessions = Arc::new(SessionService::new(
            Arc::new(InMemorySessionStore::new()),
            clock.clone(),
            self.sessions,
        ));
        let revocation = Arc::new(Revocation::new(tokens.clone(), sessions.clone()));
        let accounts = Arc::new(UserService::new(
            users.clone(),
            hasher.clone(),
            clock.clone(),
            PasswordPolicy::default(),
        ));
        let devices = Arc::new(DeviceService::new(
            Arc::new(InMemoryDeviceRepository::new()),
            tokens.clone(),
            sessions.clone(),
            accounts.clone(),
            clock.clone(),
            audit.clone(),
        ));
        let task_records = Arc::new(InMemoryTaskRepository::new());
        let queue = Arc::new(InMemoryJobQueue::new());
        let tasks = Arc::new(TaskService::new(
            task_records.clone(),
            queue.clone(),
            accounts.clone(),
            throttle.clone(),
            TaskLimits::default(),
            clock.clone(),
        ));
        let mailer = Arc::new(InMemoryMailer::new());
        let emails = EmailJobs::new(
            users.clone(),
            Arc::new(InMemoryEmailTokenStore::new()),
            mailer.clone(),
            audit.clone(),
            clock.clone(),
            self.emails,
        );
        let runner = Arc::new(JobRunner::new(
            task_records,
            Arc::new(emails),
            clock.clone(),
            JobSettings::default(),
        ));
        let outbox = Arc::new(EmailOutbox::new(tasks.clone()));
        let factors = Arc::new(SecondFactors::new(FactorParts {
            store: Arc::new(InMemoryFactorStore::new()),
            secrets: Arc::new(InMemoryFactorSecrets::new()),
            passkeys: Arc::new(NoPasskeys),
            challenges: Arc::new(InMemoryChallengeStore::new()),
            users: users.clone(),
            accounts: accounts.clone(),
            hasher: hasher.clone(),
            throttle: throttle.clone(),
            revocation: revocation.clone(),
            audit: audit.clone(),
            outbox: outbox.clone(),
            clock: clock.clone(),
            settings: FactorSettings::default(),
        }));
        let auth = Arc::new(AuthService::new(AuthParts {
            users: users.clone(),
            hasher,
            tokens: tokens.clone(),
            sessions: sessions.clone(),
            accounts: accounts.clone(),
            throttle,
            devices: devices.clone(),
            revocation,
            audit,
            outbox,
            factors: factors.clone(),
            clock,
        }));
        Ok(Embedded {
            auth,
            tokens,
            sessions,
            accounts,
            devices,
            factors,
            tasks,
            users,
            audit_log,
            mailer,
            queue,
            runner,
        })
    }
}
