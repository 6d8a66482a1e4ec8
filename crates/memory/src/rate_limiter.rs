use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use gatehouse_application::ports::{RateLimit, RateLimiter, RateStatus};

use crate::locked::Locked;

const SWEEP_EVERY: u64 = 1024;

#[derive(Default)]
struct State {
    windows: HashMap<String, (u64, Instant)>,
    hits: u64,
}

impl State {
    /// Every so many counting calls, ended windows are swept, so memory stays bounded by
    /// the live ones whatever mix of hits and reservations a flood sends.
    fn counted(&mut self, now: Instant) {
        self.hits += 1;
        if self.hits.is_multiple_of(SWEEP_EVERY) {
            self.windows.retain(|_, (_, ends)| *ends > now);
        }
    }
}

/// [`RateLimiter`] in process memory: limits hold for this instance only.
#[derive(Default)]
pub struct InMemoryRateLimiter {
    state: Locked<State>,
}

impl InMemoryRateLimiter {
    /// No counters yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State, Instant) -> T) -> anyhow::Result<T> {
        self.state.with(|state| f(state, Instant::now()))
    }
}

fn live(window: Option<&(u64, Instant)>, now: Instant) -> Option<(u64, Duration)> {
    window
        .filter(|(_, ends)| *ends > now)
        .map(|(count, ends)| (*count, *ends - now))
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    async fn hit(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus> {
        self.with(|s, now| {
            s.counted(now);
            let (count, remaining) = match live(s.windows.get(key), now) {
                Some((count, remaining)) => (count + 1, remaining),
                None => (1, limit.window),
            };
            s.windows.insert(key.to_owned(), (count, now + remaining));
            RateStatus::after_hit(count, remaining, limit)
        })
    }

    async fn reserve(&self, key: &str, limit: RateLimit) -> anyhow::Result<RateStatus> {
        self.with(|s, now| {
            s.counted(now);
            let (count, remaining) = live(s.windows.get(key), now).unwrap_or((0, limit.window));
            // A reservation is taken only while the count is below the limit.
            if count >= u64::from(limit.limit) {
                return RateStatus::Limited {
                    retry_after: remaining,
                };
            }
            s.windows
                .insert(key.to_owned(), (count + 1, now + remaining));
            RateStatus::Allowed
        })
    }

    async fn release(&self, key: &str) -> anyhow::Result<()> {
        self.with(|s, now| {
            if let Some((count, ends)) = s.windows.get_mut(key)
                && *ends > now
            {
                *count = count.saturating_sub(1);
            }
        })
    }

    async fn clear(&self, key: &str) -> anyhow::Result<()> {
        self.with(|s, _| {
            s.windows.remove(key);
        })
    }
}
