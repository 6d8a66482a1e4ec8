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
    User::register(
        Email::parse("jane@example.com").unwrap(),
        Username::parse("jane").unwrap(),
        PasswordHash::new("$2b$04$hash".into()),
        NOW,
    )
}

pub(crate) fn bearer_principal(user_id: gatehouse_domain::UserId) -> Principal {
    Principal {
        user_id,
        device: None,
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
