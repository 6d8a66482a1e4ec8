//! The pre-registration list: addresses of people waiting for sign-up to open, limited per
//! client address and answered the same way whether the address was already listed.

use std::sync::Arc;

use gatehouse_domain::Email;

use crate::accounts::ports::PreRegistrations;
use crate::limits::throttle::{AddressAction, Throttle};
use crate::shared::context::ClientInfo;
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// Collects addresses of people waiting for sign-up to open.
pub struct PreRegistrationService {
    store: Arc<dyn PreRegistrations>,
    throttle: Arc<Throttle>,
    clock: Arc<dyn Clock>,
}

impl PreRegistrationService {
    /// The list kept in `store`, additions limited per client address by `throttle`.
    pub fn new(
        store: Arc<dyn PreRegistrations>,
        throttle: Arc<Throttle>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            throttle,
            clock,
        }
    }

    /// Stores `email` once. Whether it was already there is not revealed: the answer is the
    /// same either way, so the endpoint tells nobody who signed up.
    pub async fn add(&self, email: &str, client: &ClientInfo) -> Result<(), AppError> {
        self.throttle
            .per_address(AddressAction::Register, client.address)
            .await?;
        let email = Email::parse(email)?;
        self.store.add(&email, self.clock.now()).await?;
        Ok(())
    }
}
