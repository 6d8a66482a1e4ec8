use std::sync::Arc;

use gatehouse_domain::{Email, PasswordHash, User, Username};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::ports::{Clock, MockClock};
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
    }
}
