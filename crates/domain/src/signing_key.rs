//! The life of a token-signing key, and the rules that move keys along it without signing
//! anyone out: a new key is published before anything is signed with it, and a retired key
//! stays published until the last token it signed has expired.

use std::time::Duration;

use time::OffsetDateTime;

/// Where a signing key is in its life. Every state but [`KeyState::Removed`] is published in
/// the JWKS; only [`KeyState::Current`] signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Published, not yet signing: verifiers' caches learn it before any token needs it.
    Next,
    /// Signs every new token (one key at a time).
    Current,
    /// Signs nothing; published until every token it signed has expired.
    Retired,
    /// Gone from the JWKS; kept only as a record, if at all.
    Removed,
}

impl KeyState {
    /// The stored and displayed name (`next`, `current`, `retired`, `removed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Current => "current",
            Self::Retired => "retired",
            Self::Removed => "removed",
        }
    }

    /// Parses a stored name, exactly.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "next" => Some(Self::Next),
            "current" => Some(Self::Current),
            "retired" => Some(Self::Retired),
            "removed" => Some(Self::Removed),
            _ => None,
        }
    }

    /// Whether verifiers must be able to find it (it is in the JWKS).
    pub fn is_published(self) -> bool {
        !matches!(self, Self::Removed)
    }
}

/// What the rotation rules need to know of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyTimeline {
    /// The key's id (`kid`).
    pub kid: String,
    /// Its state now.
    pub state: KeyState,
    /// When it was created (and, as `next`, published).
    pub created_at: OffsetDateTime,
    /// When it started signing; `None` while `next`.
    pub activated_at: Option<OffsetDateTime>,
    /// When it stopped signing; `None` until retired.
    pub retired_at: Option<OffsetDateTime>,
}

/// The timings of rotation, derived from what verifiers and instances may hold on to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    rotate_every: Duration,
    publish_before_use: Duration,
    keep_after_retiring: Duration,
}

/// One change the rules call for now. Applying them in order and asking again converges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationStep {
    /// There is no key at all (a first start): create one that signs at once. No token
    /// exists yet, so no verifier can hold a stale JWKS that lacks it.
    CreateCurrent,
    /// Create a `next` key (the current one is due for rotation, or an operator asked).
    CreateNext,
    /// The `next` key has been published long enough: it becomes current, and the current
    /// one (if any) is retired.
    Promote {
        /// The key that starts signing.
        next: String,
        /// The key that stops signing.
        retiring: Option<String>,
    },
    /// A retired key signed nothing that is still valid: it leaves the JWKS.
    Remove {
        /// The key to remove.
        kid: String,
    },
}

impl RotationPolicy {
    /// The policy for keys that sign for `rotate_every` (`GATEHOUSE_KEY_ROTATION_DAYS`), where
    /// instances and verifiers cache the key set for up to `jwks_max_age`
    /// (`GATEHOUSE_JWKS_MAX_AGE`), the longest-lived token a key signs lives
    /// `longest_token_lifetime`, and clocks may differ by `clock_skew`.
    ///
    /// A new key is published `2 × jwks_max_age + clock_skew` before it signs: another
    /// instance may serve a key set without it for one max-age, and a verifier that fetched
    /// that stale set keeps it for one more. A retired key stays published
    /// `jwks_max_age + longest_token_lifetime + clock_skew`: an instance may go on signing
    /// with it for one max-age, and its last token lives its whole lifetime after that.
    pub fn new(
        rotate_every: Duration,
        jwks_max_age: Duration,
        longest_token_lifetime: Duration,
        clock_skew: Duration,
    ) -> Self {
        Self {
            rotate_every,
            publish_before_use: jwks_max_age * 2 + clock_skew,
            keep_after_retiring: jwks_max_age + longest_token_lifetime + clock_skew,
        }
    }

    /// How long a new key is published before it signs.
    pub fn publish_before_use(&self) -> Duration {
        self.publish_before_use
    }

    /// How long a retired key stays published.
    pub fn keep_after_retiring(&self) -> Duration {
        self.keep_after_retiring
    }

    /// What to do now with `keys`, in the order to do it. `rotate_now` is an operator's
    /// `keys rotate`: prepare a next key whatever the current one's age (at most one `next`
    /// key exists at a time, so asking twice does not create two).
    pub fn plan(
        &self,
        keys: &[KeyTimeline],
        now: OffsetDateTime,
        rotate_now: bool,
    ) -> Vec<RotationStep> {
        let mut steps = Vec::new();
        let live = |state| keys.iter().filter(move |k| k.state == state);
        let current = live(KeyState::Current).max_by_key(|k| k.activated_at);
        let next = live(KeyState::Next).min_by_key(|k| k.created_at);
        match (current, next) {
            (None, None) => steps.push(RotationStep::CreateCurrent),
            (_, Some(next)) if next.created_at + self.publish_before_use <= now => {
                steps.push(RotationStep::Promote {
                    next: next.kid.clone(),
                    retiring: current.map(|k| k.kid.clone()),
                })
            }
            (Some(current), None) => {
                // A key with no activation time (a damaged row) counts from its creation.
                let since = current.activated_at.unwrap_or(current.created_at);
                let due = since + self.rotate_every <= now;
                if due || rotate_now {
                    steps.push(RotationStep::CreateNext);
                }
            }
            // A next key still waiting to be published long enough: nothing yet.
            (_, Some(_)) => {}
        }
        steps.extend(
            live(KeyState::Retired)
                .filter(|k| {
                    k.retired_at
                        .is_some_and(|at| at + self.keep_after_retiring <= now)
                })
                .map(|k| RotationStep::Remove { kid: k.kid.clone() }),
        );
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const DAY: Duration = Duration::from_secs(86_400);
    /// 30-day keys, a 300 s JWKS max-age, 900 s tokens, 60 s of clock skew: published 660 s
    /// before use, kept 1,260 s after retiring.
    fn policy() -> RotationPolicy {
        RotationPolicy::new(
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(300),
            Duration::from_secs(900),
            Duration::from_secs(60),
        )
    }
    const T0: OffsetDateTime = datetime!(2026-11-01 00:00 UTC);

    fn key(kid: &str, state: KeyState, created: OffsetDateTime) -> KeyTimeline {
        KeyTimeline {
            kid: kid.into(),
            state,
            created_at: created,
            activated_at: matches!(state, KeyState::Current | KeyState::Retired).then_some(created),
            retired_at: None,
        }
    }

    #[test]
    fn a_first_start_creates_a_key_that_signs_at_once() {
        assert_eq!(policy().plan(&[], T0, false), [RotationStep::CreateCurrent]);
        assert_eq!(policy().plan(&[], T0, true), [RotationStep::CreateCurrent]);
    }

    #[test]
    fn a_current_key_is_left_alone_until_it_is_due_or_an_operator_asks() {
        let keys = [key("a", KeyState::Current, T0)];
        assert!(policy().plan(&keys, T0 + 29 * DAY, false).is_empty());
        assert_eq!(
            policy().plan(&keys, T0 + 30 * DAY, false),
            [RotationStep::CreateNext]
        );
        assert_eq!(
            policy().plan(&keys, T0 + DAY, true),
            [RotationStep::CreateNext]
        );
    }

    #[test]
    fn a_next_key_signs_only_after_the_jwks_cache_lifetime() {
        let published = T0 + 30 * DAY;
        let keys = [
            key("a", KeyState::Current, T0),
            key("b", KeyState::Next, published),
        ];
        assert_eq!(policy().publish_before_use(), Duration::from_secs(660));
        let early = published + Duration::from_secs(659);
        assert!(policy().plan(&keys, early, false).is_empty());
        assert!(
            policy().plan(&keys, early, true).is_empty(),
            "one next key at a time"
        );
        assert_eq!(
            policy().plan(&keys, published + Duration::from_secs(660), false),
            [RotationStep::Promote {
                next: "b".into(),
                retiring: Some("a".into())
            }]
        );
    }

    #[test]
    fn a_retired_key_stays_published_until_its_last_token_has_expired() {
        let retired_at = T0 + 30 * DAY;
        let mut old = key("a", KeyState::Retired, T0);
        old.retired_at = Some(retired_at);
        let keys = [old, key("b", KeyState::Current, retired_at)];
        assert!(
            policy()
                .plan(&keys, retired_at + Duration::from_secs(959), false)
                .is_empty()
        );
        assert_eq!(
            policy().plan(&keys, retired_at + Duration::from_secs(1260), false),
            [RotationStep::Remove { kid: "a".into() }]
        );
    }

    #[test]
    fn a_current_key_without_an_activation_time_still_rotates() {
        let mut damaged = key("a", KeyState::Current, T0);
        damaged.activated_at = None;
        assert_eq!(
            policy().plan(&[damaged], T0 + 30 * DAY, false),
            [RotationStep::CreateNext]
        );
    }

    #[test]
    fn a_lone_next_key_is_promoted_with_nothing_to_retire() {
        let keys = [key("b", KeyState::Next, T0)];
        assert_eq!(
            policy().plan(&keys, T0 + DAY, false),
            [RotationStep::Promote {
                next: "b".into(),
                retiring: None
            }]
        );
    }

    #[test]
    fn states_round_trip_and_only_removed_keys_are_unpublished() {
        for state in [
            KeyState::Next,
            KeyState::Current,
            KeyState::Retired,
            KeyState::Removed,
        ] {
            assert_eq!(KeyState::parse(state.as_str()), Some(state));
            assert_eq!(state.is_published(), state != KeyState::Removed);
        }
        assert_eq!(KeyState::parse("Current"), None);
    }
}
