//! Helpers the unit tests of several capabilities share: a fixed clock, sample users and
//! principals, and auditors, throttles, outboxes and accounts that accept everything.

use std::sync::Arc;

use gatehouse_domain::{Email, PasswordHash, User, Username};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::shared::audit_trail::Auditor;
use crate::shared::context::{Credential, Principal};
use crate::shared::ports::{AuditEvent, Clock, MockAuditLog, MockClock};

pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

pub(crate) fn fixed_clock() -> Arc<dyn Clock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    Arc::new(clock)
}

/// A queued `add` task of no owner.
pub(crate) fn add_task(x: f64, y: f64) -> gatehouse_domain::Task {
    gatehouse_domain::Task::queued(
        None,
        gatehouse_domain::TaskKind::Add,
        serde_json::json!({"x": x, "y": y}),
        NOW,
    )
}

pub(crate) fn sample_user() -> User {
    user("jane@example.com", "jane")
}

/// A fresh regular user registered at [`NOW`].
pub(crate) fn user(email: &str, username: &str) -> User {
    User::register(
        Email::parse(email).unwrap(),
        Username::parse(username).unwrap(),
        PasswordHash::new("$2b$04$hash".into()),
        NOW,
    )
}

pub(crate) fn bearer_principal(user_id: gatehouse_domain::UserId) -> Principal {
    Principal {
        user_id,
        device: None,
        stamp: gatehouse_domain::SecurityStamp::INITIAL,
        authenticated_at: NOW,
        credential: Credential::AccessToken {
            token_id: uuid::Uuid::new_v4(),
            expires_at: NOW,
        },
        account_version: None,
        client: crate::shared::context::ClientInfo::default(),
    }
}

/// An auditor whose log accepts everything and keeps nothing.
pub(crate) fn quiet_auditor() -> Arc<Auditor> {
    let mut log = MockAuditLog::new();
    log.expect_record().returning(|_| Ok(()));
    Arc::new(Auditor::new(Arc::new(log), fixed_clock()))
}

/// An auditor that keeps every event, and the list it keeps them in.
pub(crate) fn recording_auditor() -> (Arc<Auditor>, Arc<std::sync::Mutex<Vec<AuditEvent>>>) {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    let mut log = MockAuditLog::new();
    log.expect_record().returning(move |event| {
        sink.lock().unwrap().push(event.clone());
        Ok(())
    });
    (Arc::new(Auditor::new(Arc::new(log), fixed_clock())), events)
}

/// An outbox whose task table and queue accept everything.
pub(crate) fn accepting_outbox() -> Arc<crate::jobs::emails::EmailOutbox> {
    use crate::accounts::ports::MockUserRepository;
    use crate::jobs::ports::{MockJobQueue, MockTaskRepository};
    let mut tasks = MockTaskRepository::new();
    tasks.expect_insert().returning(|_, _| Ok(true));
    let mut queue = MockJobQueue::new();
    queue.expect_enqueue().returning(|_, _| Ok(()));
    let accounts = crate::accounts::users::UserService::new(
        Arc::new(MockUserRepository::new()),
        Arc::new(crate::accounts::ports::MockPasswordHasher::new()),
        fixed_clock(),
        gatehouse_domain::PasswordPolicy::default(),
    );
    let service = crate::jobs::tasks::TaskService::new(
        Arc::new(tasks),
        Arc::new(queue),
        Arc::new(accounts),
        permissive_throttle(),
        crate::jobs::tasks::TaskLimits::default(),
        fixed_clock(),
    );
    Arc::new(crate::jobs::emails::EmailOutbox::new(Arc::new(service)))
}

/// A throttle whose limiter allows everything.
pub(crate) fn permissive_throttle() -> Arc<crate::limits::throttle::Throttle> {
    use crate::limits::ports::{MockRateLimiter, RateStatus};
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_reserve()
        .returning(|_, _| Ok(RateStatus::Allowed));
    limiter
        .expect_hit()
        .returning(|_, _| Ok(RateStatus::Allowed));
    limiter.expect_release().returning(|_| Ok(()));
    Arc::new(crate::limits::throttle::Throttle::new(
        Arc::new(limiter),
        crate::limits::throttle::ThrottleSettings::default(),
        quiet_auditor(),
    ))
}

/// Accounts where every id is an active user with that id (for services that check the
/// caller's account before acting).
pub(crate) fn any_active_account() -> Arc<crate::accounts::users::UserService> {
    use crate::accounts::ports::{MockPasswordHasher, MockUserRepository};
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|id| {
        let mut account = sample_user();
        account.id = id;
        Ok(Some(account))
    });
    Arc::new(crate::accounts::users::UserService::new(
        Arc::new(users),
        Arc::new(MockPasswordHasher::new()),
        fixed_clock(),
        gatehouse_domain::PasswordPolicy::default(),
    ))
}

/// Accounts where every caller is `viewer` (for services whose answer depends on who asks).
pub(crate) fn accounts_seen_as(viewer: User) -> Arc<crate::accounts::users::UserService> {
    use crate::accounts::ports::{MockPasswordHasher, MockUserRepository};
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(viewer.clone())));
    Arc::new(crate::accounts::users::UserService::new(
        Arc::new(users),
        Arc::new(MockPasswordHasher::new()),
        fixed_clock(),
        gatehouse_domain::PasswordPolicy::default(),
    ))
}

/// Second factors over a store where nobody has any (every sign-in is complete after its
/// password).
pub(crate) fn no_second_factors() -> Arc<crate::factors::SecondFactors> {
    use crate::factors::ports::{MockChallengeStore, MockFactorStore};
    let mut store = MockFactorStore::new();
    store.expect_totp().returning(|_| Ok(None));
    store.expect_passkeys().returning(|_| Ok(vec![]));
    store.expect_recovery_codes_left().returning(|_| Ok(0));
    second_factors(Arc::new(store), Arc::new(MockChallengeStore::new()))
}

/// Second factors over `store` and `challenges`, every other port a mock expecting nothing.
pub(crate) fn second_factors(
    store: Arc<dyn crate::factors::ports::FactorStore>,
    challenges: Arc<dyn crate::factors::ports::ChallengeStore>,
) -> Arc<crate::factors::SecondFactors> {
    use crate::credentials::ports::{MockSessionStore, MockTokenStore};
    use crate::factors::ports::{MockPasskeyCeremonies, MockSecondFactorSecrets};
    let tokens = Arc::new(crate::credentials::tokens::TokenService::new(
        Arc::new(crate::credentials::ports::MockTokenCodec::new()),
        Arc::new(MockTokenStore::new()),
        fixed_clock(),
        crate::credentials::tokens::TokenSettings::default(),
    ));
    let sessions = Arc::new(crate::credentials::sessions::SessionService::new(
        Arc::new(MockSessionStore::new()),
        fixed_clock(),
        crate::credentials::sessions::SessionSettings::default(),
    ));
    Arc::new(crate::factors::SecondFactors::new(
        crate::factors::FactorParts {
            store,
            secrets: Arc::new(MockSecondFactorSecrets::new()),
            passkeys: Arc::new(MockPasskeyCeremonies::new()),
            challenges,
            users: Arc::new(crate::accounts::ports::MockUserRepository::new()),
            accounts: any_active_account(),
            hasher: Arc::new(crate::accounts::ports::MockPasswordHasher::new()),
            throttle: permissive_throttle(),
            revocation: Arc::new(crate::credentials::revocation::Revocation::new(
                tokens, sessions,
            )),
            audit: quiet_auditor(),
            outbox: accepting_outbox(),
            clock: fixed_clock(),
            settings: crate::factors::FactorSettings::default(),
        },
    ))
}
