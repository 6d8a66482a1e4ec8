use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::{SessionKey, SessionRecord, SessionStore};
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use time::OffsetDateTime;

use crate::locked::Locked;

/// Every this many inserts, expired sessions are swept.
const SWEEP_EVERY: u64 = 256;

#[derive(Default)]
struct State {
    /// key -> (session, idle expiry)
    sessions: HashMap<SessionKey, (SessionRecord, OffsetDateTime)>,
    inserts: u64,
}

/// [`SessionStore`] in process memory. One mutex makes each operation atomic.
#[derive(Default)]
pub struct InMemorySessionStore {
    state: Locked<State>,
}

impl InMemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> anyhow::Result<T> {
        self.state.with(f)
    }
}

#[async_trait]
impl SessionStore for InMemorySessionStore {
    async fn insert(
        &self,
        key: &SessionKey,
        session: &SessionRecord,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            s.inserts += 1;
            if s.inserts.is_multiple_of(SWEEP_EVERY) {
                let now = OffsetDateTime::now_utc();
                s.sessions.retain(|_, (_, until)| *until > now);
            }
            let until = idle_until.min(session.expires_at);
            s.sessions.insert(key.clone(), (session.clone(), until));
        })
    }

    async fn touch(
        &self,
        key: &SessionKey,
        now: OffsetDateTime,
        idle_until: OffsetDateTime,
    ) -> anyhow::Result<Option<SessionRecord>> {
        self.with(|s| {
            let live = s.sessions.get(key).is_some_and(|(_, until)| *until > now);
            if !live {
                s.sessions.remove(key);
                return None;
            }
            let (session, until) = s.sessions.get_mut(key)?;
            *until = idle_until.min(session.expires_at);
            Some(session.clone())
        })
    }

    async fn restamp(&self, key: &SessionKey, stamp: SecurityStamp) -> anyhow::Result<()> {
        self.with(|s| {
            if let Some((session, _)) = s.sessions.get_mut(key) {
                session.stamp = stamp;
            }
        })
    }

    async fn remove(&self, key: &SessionKey) -> anyhow::Result<()> {
        self.with(|s| {
            s.sessions.remove(key);
        })
    }

    async fn remove_all_for_user(
        &self,
        user: UserId,
        keep: Option<SessionKey>,
    ) -> anyhow::Result<()> {
        self.with(|s| {
            s.sessions
                .retain(|key, (session, _)| session.user != user || Some(key) == keep.as_ref())
        })
    }

    async fn remove_all_for_device(&self, device: DeviceId) -> anyhow::Result<()> {
        self.with(|s| {
            s.sessions
                .retain(|_, (session, _)| session.device != Some(device))
        })
    }
}
