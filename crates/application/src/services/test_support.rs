use std::sync::Arc;

use gatehouse_domain::{Email, PasswordHash, User, Username};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::ports::{AuditEvent, Clock, MockAuditLog, MockClock};
use crate::services::audit::Auditor;
use crate::{Credential, Principal};

pub(crate) const NOW: OffsetDateTime = datetime!(2026-11-21 12:00 UTC);

pub(crate) fn fixed_clock() -> Arc<dyn Clock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(NOW);
    Arc::new(clock)
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
        credential: Credential::AccessToken {
            token_id: uuid::Uuid::new_v4(),
            expires_at: NOW,
        },
        client: crate::ClientInfo::default(),
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
pub(crate) fn accepting_outbox() -> Arc<crate::EmailOutbox> {
    use crate::ports::{MockJobQueue, MockTaskRepository, MockUserRepository};
    let mut tasks = MockTaskRepository::new();
    tasks.expect_insert().returning(|_, _| Ok(true));
    let mut queue = MockJobQueue::new();
    queue.expect_enqueue().returning(|_, _| Ok(()));
    let accounts = crate::UserService::new(
        Arc::new(MockUserRepository::new()),
        Arc::new(crate::ports::MockPasswordHasher::new()),
        fixed_clock(),
        gatehouse_domain::PasswordPolicy::default(),
    );
    let service = crate::TaskService::new(
        Arc::new(tasks),
        Arc::new(queue),
        Arc::new(accounts),
        permissive_throttle(),
        crate::TaskLimits::default(),
        fixed_clock(),
    );
    Arc::new(crate::EmailOutbox::new(Arc::new(service)))
}

/// A throttle whose limiter allows everything.
pub(crate) fn permissive_throttle() -> Arc<crate::Throttle> {
    use crate::ports::{MockRateLimiter, RateStatus};
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_reserve()
        .returning(|_, _| Ok(RateStatus::Allowed));
    limiter
        .expect_hit()
        .returning(|_, _| Ok(RateStatus::Allowed));
    limiter.expect_release().returning(|_| Ok(()));
    Arc::new(crate::Throttle::new(
        Arc::new(limiter),
        crate::ThrottleSettings::default(),
        quiet_auditor(),
    ))
}

/// Accounts where every id is an active user with that id (for services that check the
/// caller's account before acting).
pub(crate) fn any_active_account() -> Arc<crate::UserService> {
    use crate::ports::{MockPasswordHasher, MockUserRepository};
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|id| {
        let mut account = sample_user();
        account.id = id;
        Ok(Some(account))
    });
    Arc::new(crate::UserService::new(
        Arc::new(users),
        Arc::new(MockPasswordHasher::new()),
        fixed_clock(),
        gatehouse_domain::PasswordPolicy::default(),
    ))
}
