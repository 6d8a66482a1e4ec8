use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_application::ports::{
    AccessTokenCheck, RefreshFamily, RefreshTokenState, Rotation, RotationRequest, TokenStore,
};
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::locked::Locked;

/// Every this many writes, expired entries are swept, so memory stays bounded by live state.
const SWEEP_EVERY: u64 = 512;

#[derive(Debug)]
struct Family {
    user: UserId,
    device: Option<DeviceId>,
    current: Uuid,
    previous: Option<Uuid>,
    rotated_at: OffsetDateTime,
    revoked: bool,
    expires_at: OffsetDateTime,
    absolute_expires_at: OffsetDateTime,
}

#[derive(Debug, Default)]
struct State {
    families: HashMap<Uuid, Family>,
    denied: HashMap<Uuid, OffsetDateTime>,
    stamp_floors: Cutoffs<UserId, SecurityStamp>,
    device_revoked_before: Cutoffs<DeviceId, OffsetDateTime>,
    writes: u64,
}

/// Per owner, the cutoff its tokens are judged by (a stamp floor, an instant) and when it
/// may be forgotten (its tokens have expired anyway).
type Cutoffs<K, V> = HashMap<K, (V, OffsetDateTime)>;

/// Moves an owner's cutoff forward (never back).
fn raise_cutoff<K: Eq + std::hash::Hash, V: Ord + Copy>(
    cutoffs: &mut Cutoffs<K, V>,
    owner: K,
    cutoff: V,
    remember_until: OffsetDateTime,
) {
    let entry = cutoffs.entry(owner).or_insert((cutoff, remember_until));
    *entry = (entry.0.max(cutoff), entry.1.max(remember_until));
}

impl State {
    fn revoke_families(&mut self, matches: impl Fn(&Family) -> bool) {
        self.families
            .values_mut()
            .filter(|f| matches(f))
            .for_each(|f| f.revoked = true);
    }

    fn wrote(&mut self) {
        self.writes += 1;
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            let now = OffsetDateTime::now_utc();
            self.families.retain(|_, f| f.expires_at > now);
            self.denied.retain(|_, until| *until > now);
            self.stamp_floors.retain(|_, (_, until)| *until > now);
            self.device_revoked_before
                .retain(|_, (_, until)| *until > now);
        }
    }
}

/// [`TokenStore`] in process memory, for the single-instance embedded default and tests.
/// One mutex makes every operation atomic; nothing here awaits while holding it.
#[derive(Debug, Default)]
pub struct InMemoryTokenStore {
    state: Locked<State>,
}

impl InMemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> anyhow::Result<T> {
        self.state.with(f)
    }

    /// Whether the store can be used: its lock is not poisoned.
    pub(crate) fn usable(&self) -> anyhow::Result<()> {
        self.with(|_| ())
    }
}

#[async_trait]
impl TokenStore for InMemoryTokenStore {
    async fn create_family(&self, family: &RefreshFamily) -> anyhow::Result<()> {
        self.with(|s| {
            s.families.insert(
                family.id,
                Family {
                    user: family.user,
                    device: family.device,
                    current: family.current_token,
                    previous: None,
                    rotated_at: OffsetDateTime::UNIX_EPOCH,
                    revoked: false,
                    expires_at: family.expires_at,
                    absolute_expires_at: family.absolute_expires_at,
                },
            );
            s.wrote();
        })
    }

    async fn rotate(&self, request: &RotationRequest) -> anyhow::Result<Rotation> {
        self.with(|s| {
            let Some(family) = s.families.get_mut(&request.family) else {
                return Rotation::Revoked;
            };
            if family.revoked {
                Rotation::Revoked
            } else if family.absolute_expires_at <= request.now {
                Rotation::Expired
            } else if family.expires_at <= request.now {
                Rotation::Revoked
            } else if family.current == request.presented {
                family.previous = Some(request.presented);
                family.current = request.next;
                family.rotated_at = request.now;
                family.expires_at = request.next_expires_at.min(family.absolute_expires_at);
                Rotation::Rotated {
                    expires_at: family.expires_at,
                }
            } else if family.previous == Some(request.presented)
                && request.now - family.rotated_at < request.grace
            {
                Rotation::WithinGrace
            } else {
                family.revoked = true;
                Rotation::ReuseDetected
            }
        })
    }

    async fn refresh_token_state(
        &self,
        family: Uuid,
        token: Uuid,
        now: OffsetDateTime,
        grace: Duration,
    ) -> anyhow::Result<RefreshTokenState> {
        // Judged as `rotate` judges, in the same order, so a read never disagrees with the
        // rotation that would follow it at the same instant.
        self.with(|s| match s.families.get(&family) {
            None => RefreshTokenState::Revoked,
            Some(f) if f.revoked => RefreshTokenState::Revoked,
            Some(f) if f.absolute_expires_at <= now => RefreshTokenState::Expired,
            Some(f) if f.expires_at <= now => RefreshTokenState::Revoked,
            Some(f) if f.current == token => RefreshTokenState::Live,
            Some(f) if f.previous == Some(token) && now - f.rotated_at < grace => {
                RefreshTokenState::WithinGrace
            }
            Some(_) => RefreshTokenState::Superseded,
        })
    }

    async fn revoke_family(&self, family: Uuid) -> anyhow::Result<()> {
        self.with(|s| {
            if let Some(f) = s.families.get_mut(&family) {
                f.revoked = true;
            }
        })
    }

    async fn revoke_user(
        &self,
        user: UserId,
        floor: SecurityStamp,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            s.revoke_families(|f| f.user == user);
            raise_cutoff(&mut s.stamp_floors, user, floor, remember_until);
            s.wrote();
        })
    }

    async fn revoke_device(
        &self,
        device: DeviceId,
        before: OffsetDateTime,
        remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            s.revoke_families(|f| f.device == Some(device));
            raise_cutoff(&mut s.device_revoked_before, device, before, remember_until);
            s.wrote();
        })
    }

    /// Nothing to do: the marker is for other services, and no other service reads a store
    /// inside this process (Gatehouse itself reads the account).
    async fn mark_grant_changed(
        &self,
        _user: UserId,
        _at: OffsetDateTime,
        _remember_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    async fn deny_access_token(
        &self,
        token_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            s.denied.insert(token_id, expires_at);
            s.wrote();
        })
    }

    async fn check_access_token(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        token_id: Uuid,
        issued_at: OffsetDateTime,
        stamp: SecurityStamp,
    ) -> anyhow::Result<AccessTokenCheck> {
        // The device instant is compared to the millisecond, as tokens carry it, and a token
        // of the revocation's own millisecond is revoked.
        let issued_ms = issued_at.unix_timestamp_nanos() / 1_000_000;
        let revoked = self.with(|s| {
            let device_cutoff = device.and_then(|d| s.device_revoked_before.get(&d));
            s.denied.contains_key(&token_id)
                || s.stamp_floors
                    .get(&user)
                    .is_some_and(|(floor, _)| stamp < *floor)
                || device_cutoff.is_some_and(|(before, _)| {
                    issued_ms <= before.unix_timestamp_nanos() / 1_000_000
                })
        })?;
        // This process's versions live beside it (`InMemoryAccountVersions`), not here.
        Ok(AccessTokenCheck {
            revoked,
            account_version: None,
        })
    }
}
