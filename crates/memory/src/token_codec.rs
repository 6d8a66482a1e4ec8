use std::collections::HashMap;
use std::sync::Arc;

use gatehouse_application::ports::{Clock, TokenClaims, TokenCodec, TokenDecodeError, TokenKind};
use time::Duration;
use uuid::Uuid;

use crate::clock::SystemClock;
use crate::locked::Locked;

/// How long an expired token is still recognised (and refused as expired rather than
/// invalid) before it is forgotten.
const REMEMBER_EXPIRED: Duration = Duration::hours(1);

/// Every this many tokens issued, long-expired ones are forgotten.
const SWEEP_EVERY: u64 = 512;

#[derive(Default)]
struct Issued {
    claims: HashMap<String, TokenClaims>,
    count: u64,
}

/// [`TokenCodec`] without signatures: each token is 244 random bits (two v4 UUIDs from the
/// operating system's generator), and the claims it stands for stay in this process. A token
/// is therefore only as good as the codec that issued it: nothing can be forged or altered
/// because there is nothing to sign, and nothing is readable by the holder.
///
/// Why not JWTs here: a self-contained token needs a key and a signature scheme, which is the
/// production adapter's job (`JwtCodec` in `gatehouse-infrastructure`); an in-process service
/// has no second party to convince, so a lookup enforces the same contract with no secret
/// to manage. It refuses a token of the wrong kind (and a refresh token without a family)
/// as [`TokenDecodeError::Invalid`], an unknown or garbled one as `Invalid`, and one past
/// its expiry (by the codec's [`Clock`]) as [`TokenDecodeError::Expired`]. Claims come back
/// exactly as encoded.
pub struct InMemoryTokenCodec {
    issued: Locked<Issued>,
    clock: Arc<dyn Clock>,
}

impl Default for InMemoryTokenCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryTokenCodec {
    /// A codec judging expiry by the wall clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// A codec judging expiry by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            issued: Locked::default(),
            clock,
        }
    }
}

impl TokenCodec for InMemoryTokenCodec {
    fn encode(&self, claims: &TokenClaims) -> anyhow::Result<String> {
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let now = self.clock.now();
        self.issued.with(|issued| {
            issued.count += 1;
            if issued.count.is_multiple_of(SWEEP_EVERY) {
                issued
                    .claims
                    .retain(|_, c| c.expires_at + REMEMBER_EXPIRED > now);
            }
            issued.claims.insert(token.clone(), claims.clone());
        })?;
        Ok(token)
    }

    fn decode(&self, token: &str, expected: TokenKind) -> Result<TokenClaims, TokenDecodeError> {
        let claims = self
            .issued
            .with(|issued| issued.claims.get(token).cloned())
            .map_err(|_| TokenDecodeError::Invalid)?
            .ok_or(TokenDecodeError::Invalid)?;
        if claims.kind != expected || (expected == TokenKind::Refresh) != claims.family.is_some() {
            return Err(TokenDecodeError::Invalid);
        }
        if claims.expires_at <= self.clock.now() {
            return Err(TokenDecodeError::Expired);
        }
        Ok(claims)
    }
}
