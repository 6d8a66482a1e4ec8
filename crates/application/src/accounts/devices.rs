//! Devices: the clients an account signed in from. A sign-in records its device, an unfamiliar
//! one triggers a new-sign-in email, and revoking a device ends every credential issued to it.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, Device, DeviceId, UserId};

use crate::accounts::ports::DeviceRepository;
use crate::accounts::users::UserService;
use crate::credentials::sessions::SessionService;
use crate::credentials::tokens::TokenService;
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::{ClientInfo, Principal};
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// A device as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    /// The device.
    pub device: Device,
    /// Whether the request being served comes from it.
    pub current: bool,
}

/// The devices users sign in from, and revoking them.
pub struct DeviceService {
    devices: Arc<dyn DeviceRepository>,
    tokens: Arc<TokenService>,
    sessions: Arc<SessionService>,
    accounts: Arc<UserService>,
    clock: Arc<dyn Clock>,
    audit: Arc<Auditor>,
}

impl DeviceService {
    /// Builds the service from its ports, the services that hold device credentials, and
    /// the accounts (the caller's is checked before anything is shown or changed).
    pub fn new(
        devices: Arc<dyn DeviceRepository>,
        tokens: Arc<TokenService>,
        sessions: Arc<SessionService>,
        accounts: Arc<UserService>,
        clock: Arc<dyn Clock>,
        audit: Arc<Auditor>,
    ) -> Self {
        Self {
            devices,
            tokens,
            sessions,
            accounts,
            clock,
            audit,
        }
    }

    /// Records a sign-in of `user` from `client`; returns the device.
    pub async fn record_sign_in(
        &self,
        user: UserId,
        client: &ClientInfo,
    ) -> Result<Device, AppError> {
        let user_agent = Device::normalize_user_agent(client.user_agent.as_deref());
        let ip = client.address.map(|ip| ip.to_string());
        Ok(self
            .devices
            .record_sign_in(user, &user_agent, ip, self.clock.now())
            .await?)
    }

    /// A device this sign-in used for the first time, of an account that has signed in
    /// from others before (an account's first device is not news).
    pub async fn is_unfamiliar(&self, device: &Device) -> Result<bool, AppError> {
        if device.first_seen_at != device.last_seen_at {
            return Ok(false);
        }
        Ok(self.devices.list(device.user).await?.len() > 1)
    }

    /// The caller's devices, the one making this request marked `current`.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<DeviceView>, AppError> {
        self.accounts.me(principal).await?;
        let devices = self.devices.list(principal.user_id).await?;
        Ok(devices
            .into_iter()
            .map(|device| DeviceView {
                current: Some(device.id) == principal.device,
                device,
            })
            .collect())
    }

    /// Forgets one of the caller's devices and ends its sessions, refresh families and live
    /// access tokens. Another user's device is `NotFound`, like one that never existed.
    #[tracing::instrument(skip(self, principal), fields(user = %principal.user_id))]
    pub async fn revoke(&self, principal: &Principal, device: DeviceId) -> Result<(), AppError> {
        self.accounts.me(principal).await?;
        if !self.devices.delete(principal.user_id, device).await? {
            return Err(AppError::NotFound("device"));
        }
        self.tokens.revoke_device(device).await?;
        self.sessions.end_all_for_device(device).await?;
        tracing::info!(%device, "device revoked");
        self.audit
            .record(
                AuditEventType::DeviceRevoked,
                AuditContext::own(principal.user_id, &principal.client),
                &[("device", device.to_string())],
            )
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ports::MockDeviceRepository;
    use crate::credentials::ports::{MockSessionStore, MockTokenCodec, MockTokenStore};
    use crate::credentials::sessions::SessionSettings;
    use crate::credentials::tokens::TokenSettings;
    use crate::test_support::{NOW, bearer_principal, fixed_clock, quiet_auditor};

    fn device(user: UserId, agent: &str) -> Device {
        Device {
            id: DeviceId::generate(),
            user,
            user_agent: agent.into(),
            ip: None,
            first_seen_at: NOW,
            last_seen_at: NOW,
        }
    }

    fn service(
        repo: MockDeviceRepository,
        tokens: MockTokenStore,
        sessions: MockSessionStore,
    ) -> DeviceService {
        let tokens = TokenService::new(
            Arc::new(MockTokenCodec::new()),
            Arc::new(tokens),
            fixed_clock(),
            TokenSettings::default(),
        );
        let sessions = SessionService::new(
            Arc::new(sessions),
            fixed_clock(),
            SessionSettings::default(),
        );
        DeviceService::new(
            Arc::new(repo),
            Arc::new(tokens),
            Arc::new(sessions),
            crate::test_support::any_active_account(),
            fixed_clock(),
            quiet_auditor(),
        )
    }

    #[tokio::test]
    async fn the_requesting_device_is_marked_current() {
        let mut principal = bearer_principal(UserId::generate());
        let (mine, other) = (
            device(principal.user_id, "a"),
            device(principal.user_id, "b"),
        );
        principal.device = Some(mine.id);
        let listed = vec![other.clone(), mine.clone()];
        let mut repo = MockDeviceRepository::new();
        repo.expect_list().returning(move |_| Ok(listed.clone()));
        let views = service(repo, MockTokenStore::new(), MockSessionStore::new())
            .list(&principal)
            .await
            .unwrap();
        let current: Vec<bool> = views.iter().map(|v| v.current).collect();
        assert_eq!(current, vec![false, true]);
    }

    #[tokio::test]
    async fn revoking_ends_the_devices_tokens_and_sessions() {
        let principal = bearer_principal(UserId::generate());
        let target = DeviceId::generate();
        let mut repo = MockDeviceRepository::new();
        repo.expect_delete().returning(|_, _| Ok(true));
        let mut tokens = MockTokenStore::new();
        tokens
            .expect_revoke_device()
            .withf(move |d, _, _| *d == target)
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut sessions = MockSessionStore::new();
        sessions
            .expect_remove_all_for_device()
            .withf(move |d| *d == target)
            .times(1)
            .returning(|_| Ok(()));
        service(repo, tokens, sessions)
            .revoke(&principal, target)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn someone_elses_or_an_unknown_device_is_not_found_and_nothing_is_revoked() {
        let mut repo = MockDeviceRepository::new();
        repo.expect_delete().returning(|_, _| Ok(false));
        let mut tokens = MockTokenStore::new();
        tokens.expect_revoke_device().never();
        let err = service(repo, tokens, MockSessionStore::new())
            .revoke(&bearer_principal(UserId::generate()), DeviceId::generate())
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::NotFound("device")));
    }
}
