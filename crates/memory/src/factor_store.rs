use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::{FactorStore, StoredPasskey, TotpFactor};
use gatehouse_domain::UserId;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::locked::Locked;

#[derive(Default)]
struct Factors {
    totp: HashMap<UserId, TotpFactor>,
    recovery: HashMap<UserId, Vec<Vec<u8>>>,
    passkeys: Vec<StoredPasskey>,
}

/// [`FactorStore`] in process memory: confirmation, step acceptance and code use decided
/// under one lock, as the database decides them in one statement.
#[derive(Default)]
pub struct InMemoryFactorStore {
    factors: Locked<Factors>,
}

impl InMemoryFactorStore {
    /// Nobody has a factor yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl FactorStore for InMemoryFactorStore {
    async fn totp(&self, user: UserId) -> anyhow::Result<Option<TotpFactor>> {
        self.factors.with(|f| f.totp.get(&user).cloned())
    }

    async fn put_pending_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        self.factors.with(|f| {
            if f.totp.get(&user).is_some_and(|t| t.confirmed) {
                return false;
            }
            let pending = TotpFactor {
                sealed_secret: sealed_secret.to_vec(),
                confirmed: false,
                last_step: None,
                created_at: at,
            };
            f.totp.insert(user, pending);
            true
        })
    }

    async fn confirm_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        step: u64,
        recovery_digests: &[Vec<u8>],
        _at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        self.factors.with(|f| {
            let Some(totp) = f
                .totp
                .get_mut(&user)
                .filter(|t| !t.confirmed && t.sealed_secret == sealed_secret)
            else {
                return false;
            };
            totp.confirmed = true;
            totp.last_step = Some(step);
            f.recovery.insert(user, recovery_digests.to_vec());
            true
        })
    }

    async fn accept_totp_step(&self, user: UserId, step: u64) -> anyhow::Result<bool> {
        self.factors.with(|f| match f.totp.get_mut(&user) {
            Some(totp) if totp.confirmed && totp.last_step.is_none_or(|last| last < step) => {
                totp.last_step = Some(step);
                true
            }
            _ => false,
        })
    }

    async fn sealed_totp_secrets(&self) -> anyhow::Result<Vec<(UserId, Vec<u8>)>> {
        self.factors.with(|f| {
            f.totp
                .iter()
                .map(|(user, totp)| (*user, totp.sealed_secret.clone()))
                .collect()
        })
    }

    async fn reseal_totp(&self, user: UserId, old: &[u8], new: &[u8]) -> anyhow::Result<bool> {
        self.factors.with(|f| match f.totp.get_mut(&user) {
            Some(totp) if totp.sealed_secret == old => {
                totp.sealed_secret = new.to_vec();
                true
            }
            _ => false,
        })
    }

    async fn remove_totp(&self, user: UserId) -> anyhow::Result<bool> {
        self.factors.with(|f| f.totp.remove(&user).is_some())
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        digests: &[Vec<u8>],
        _at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.factors.with(|f| {
            f.recovery.insert(user, digests.to_vec());
        })
    }

    async fn recovery_codes_left(&self, user: UserId) -> anyhow::Result<u64> {
        self.factors
            .with(|f| f.recovery.get(&user).map_or(0, |codes| codes.len() as u64))
    }

    async fn use_recovery_code(&self, user: UserId, digest: &[u8]) -> anyhow::Result<bool> {
        self.factors.with(|f| {
            let Some(codes) = f.recovery.get_mut(&user) else {
                return false;
            };
            let before = codes.len();
            codes.retain(|code| code != digest);
            codes.len() < before
        })
    }

    async fn passkeys(&self, user: UserId) -> anyhow::Result<Vec<StoredPasskey>> {
        self.factors.with(|f| {
            let mut own: Vec<StoredPasskey> = f
                .passkeys
                .iter()
                .filter(|p| p.user == user)
                .cloned()
                .collect();
            own.sort_by_key(|p| (p.created_at, p.id));
            own
        })
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> anyhow::Result<Option<StoredPasskey>> {
        self.factors.with(|f| {
            f.passkeys
                .iter()
                .find(|p| p.credential_id == credential_id)
                .cloned()
        })
    }

    async fn add_passkey(&self, passkey: &StoredPasskey) -> anyhow::Result<bool> {
        self.factors.with(|f| {
            if f.passkeys
                .iter()
                .any(|p| p.credential_id == passkey.credential_id)
            {
                return false;
            }
            f.passkeys.push(passkey.clone());
            true
        })
    }

    async fn passkey_used(
        &self,
        id: Uuid,
        passkey: Option<String>,
        at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.factors.with(|f| {
            if let Some(stored) = f.passkeys.iter_mut().find(|p| p.id == id) {
                stored.last_used_at = Some(at);
                if let Some(passkey) = passkey {
                    stored.passkey = passkey;
                }
            }
        })
    }

    async fn remove_passkey(&self, user: UserId, id: Uuid) -> anyhow::Result<bool> {
        self.factors.with(|f| {
            let before = f.passkeys.len();
            f.passkeys.retain(|p| !(p.user == user && p.id == id));
            f.passkeys.len() < before
        })
    }

    async fn remove_all(&self, user: UserId) -> anyhow::Result<bool> {
        self.factors.with(|f| {
            let totp = f.totp.remove(&user).is_some();
            let codes = f.recovery.remove(&user).is_some_and(|c| !c.is_empty());
            let before = f.passkeys.len();
            f.passkeys.retain(|p| p.user != user);
            totp || codes || f.passkeys.len() < before
        })
    }
}
