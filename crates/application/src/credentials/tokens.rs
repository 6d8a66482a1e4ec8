//! Bearer tokens: short-lived signed access tokens and rotating refresh tokens grouped in
//! families, where presenting an already rotated refresh token revokes its whole family.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credentials::ports::{
    RefreshFamily, Rotation, RotationRequest, TokenClaims, TokenCodec, TokenDecodeError, TokenKind,
    TokenStore,
};
use crate::shared::context::{ClientInfo, Credential, Principal};
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// Token lifetimes and the reuse grace window.
#[derive(Debug, Clone, Copy)]
pub struct TokenSettings {
    /// Access token lifetime (default 15 min).
    pub access_ttl: Duration,
    /// Refresh token lifetime (default 7 days); each rotation starts a new one, but never
    /// past the family's absolute lifetime.
    pub refresh_ttl: Duration,
    /// How long a refresh family lives from the login that started it, however often it is
    /// rotated (default 30 days): a stolen chain cannot be kept alive forever.
    pub absolute_ttl: Duration,
    /// How long a just-rotated refresh token is refused without revoking its family.
    pub reuse_grace: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(7 * 24 * 3600),
            absolute_ttl: Duration::from_secs(30 * 24 * 3600),
            reuse_grace: Duration::ZERO,
        }
    }
}

/// A freshly issued access + refresh token pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: u64,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// It was live: here is the next pair.
    Rotated {
        /// The token's owner.
        user: UserId,
        /// The security stamp the pair carries (its family's login's).
        stamp: SecurityStamp,
        /// The new pair.
        pair: TokenPair,
    },
    /// It had already been rotated: theft assumed, its family is now revoked. The caller
    /// must refuse the request.
    ReuseDetected {
        /// The token's owner.
        user: UserId,
    },
}

/// How long past a token's expiry its revocation is still remembered: `exp` has whole
/// seconds and a token is accepted through its whole last second, and the instances' clocks
/// differ a little. Forgetting a revocation at the exact expiry would let the token back in
/// for that last moment.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// The refresh token of a pair about to be encoded.
struct Issue {
    family: Uuid,
    token_id: Uuid,
    expires_at: OffsetDateTime,
}

/// Issues, verifies, rotates and revokes tokens.
pub struct TokenService {
    codec: Arc<dyn TokenCodec>,
    store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    settings: TokenSettings,
}

impl TokenService {
    /// Tokens signed and checked by `codec`, with refresh families and the denylist in `store`,
    /// and the lifetimes and reuse grace window in `settings`.
    pub fn new(
        codec: Arc<dyn TokenCodec>,
        store: Arc<dyn TokenStore>,
        clock: Arc<dyn Clock>,
        settings: TokenSettings,
    ) -> Self {
        Self {
            codec,
            store,
            clock,
            settings,
        }
    }

    /// The configured lifetimes.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Starts a new refresh family for `user` on `device` and issues its first pair, under
    /// the security stamp the sign-in read.
    #[tracing::instrument(skip(self))]
    pub async fn issue_new_family(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        stamp: SecurityStamp,
    ) -> Result<TokenPair, AppError> {
        let now = self.clock.now();
        let absolute_expires_at = now + self.settings.absolute_ttl;
        let family = RefreshFamily {
            id: Uuid::new_v4(),
            user,
            current_token: Uuid::new_v4(),
            device,
            expires_at: (now + self.settings.refresh_ttl).min(absolute_expires_at),
            absolute_expires_at,
        };
        self.store.create_family(&family).await?;
        let refresh = Issue {
            family: family.id,
            token_id: family.current_token,
            expires_at: family.expires_at,
        };
        self.encode_pair(user, device, stamp, refresh, now)
    }

    /// Takes back a pair this service has just issued and that must not be used after all
    /// (the account changed while it was being issued): its family is revoked and its
    /// access token denied.
    pub async fn withdraw(&self, pair: &TokenPair) -> Result<(), AppError> {
        if let Ok(refresh) = self.codec.decode(&pair.refresh_token, TokenKind::Refresh)
            && let Some(family) = refresh.family
        {
            self.store.revoke_family(family).await?;
        }
        if let Ok(access) = self.codec.decode(&pair.access_token, TokenKind::Access) {
            self.revoke_access_token(access.token_id, access.expires_at)
                .await?;
        }
        Ok(())
    }

    /// Exchanges a refresh token for a new pair. The presented token dies; presenting it
    /// again later revokes the whole family.
    #[tracing::instrument(skip_all)]
    pub async fn rotate(&self, refresh_token: &str) -> Result<Refreshed, AppError> {
        let claims = self.decode(refresh_token, TokenKind::Refresh)?;
        let family = claims.family.ok_or(AppError::TokenInvalid)?;
        let now = self.clock.now();
        let next = Uuid::new_v4();
        let request = RotationRequest {
            family,
            user: claims.subject,
            device: claims.device,
            presented: claims.token_id,
            next,
            next_expires_at: now + self.settings.refresh_ttl,
            now,
            grace: self.settings.reuse_grace,
        };
        match self.store.rotate(&request).await? {
            Rotation::Rotated { expires_at } => {
                let refresh = Issue {
                    family,
                    token_id: next,
                    expires_at,
                };
                // The stamp is the login's, not the account's as read now: a refresh that
                // races a sign-out everywhere must not mint a token that survives it.
                let pair =
                    self.encode_pair(claims.subject, claims.device, claims.stamp, refresh, now)?;
                Ok(Refreshed::Rotated {
                    user: claims.subject,
                    stamp: claims.stamp,
                    pair,
                })
            }
            Rotation::Expired => Err(AppError::TokenExpired),
            // A store may already have forgotten a family whose time is up (Redis expires
            // the key with its last token); the token says when that was. Its `exp` has
            // whole seconds, so decoding alone lets it through for up to a second more.
            Rotation::Revoked if claims.expires_at <= now => Err(AppError::TokenExpired),
            Rotation::ReuseDetected => {
                tracing::warn!(user = %claims.subject, %family, "refresh token reuse detected; family revoked");
                Ok(Refreshed::ReuseDetected {
                    user: claims.subject,
                })
            }
            Rotation::WithinGrace | Rotation::Revoked => Err(AppError::TokenInvalid),
        }
    }

    /// Verifies a bearer access token, including server-side revocation.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AppError> {
        let claims = self.decode(access_token, TokenKind::Access)?;
        let revoked = self
            .store
            .is_access_token_revoked(
                claims.subject,
                claims.device,
                claims.token_id,
                claims.issued_at,
                claims.stamp,
            )
            .await?;
        if revoked {
            return Err(AppError::TokenInvalid);
        }
        Ok(Principal {
            user_id: claims.subject,
            device: claims.device,
            stamp: claims.stamp,
            credential: Credential::AccessToken {
                token_id: claims.token_id,
                expires_at: claims.expires_at,
            },
            client: ClientInfo::default(),
        })
    }

    /// Puts one access token on the denylist until it expires.
    pub async fn revoke_access_token(
        &self,
        token_id: Uuid,
        expires_at: OffsetDateTime,
    ) -> Result<(), AppError> {
        Ok(self
            .store
            .deny_access_token(token_id, expires_at + EXPIRY_MARGIN)
            .await?)
    }

    /// Revokes the family of `refresh_token` if it is a live-looking token of `owner`.
    /// Anything else (garbage, expired, someone else's) cannot be used by the caller anyway
    /// and is ignored, so logout always succeeds.
    pub async fn revoke_refresh_token(
        &self,
        owner: UserId,
        refresh_token: &str,
    ) -> Result<(), AppError> {
        let Ok(claims) = self.codec.decode(refresh_token, TokenKind::Refresh) else {
            return Ok(());
        };
        if let (true, Some(family)) = (claims.subject == owner, claims.family) {
            self.store.revoke_family(family).await?;
        }
        Ok(())
    }

    /// Revokes every token issued to `device` until now (this millisecond included).
    pub async fn revoke_device(&self, device: DeviceId) -> Result<(), AppError> {
        let now = self.clock.now();
        self.store
            .revoke_device(device, now, now + self.settings.access_ttl + EXPIRY_MARGIN)
            .await?;
        Ok(())
    }

    /// Revokes every refresh family of `user` and every access token issued under a stamp
    /// older than `stamp` (the account's stamp after the change that calls for it).
    pub async fn revoke_user(&self, user: UserId, stamp: SecurityStamp) -> Result<(), AppError> {
        let now = self.clock.now();
        self.store
            .revoke_user(user, stamp, now + self.settings.access_ttl + EXPIRY_MARGIN)
            .await?;
        Ok(())
    }

    fn decode(&self, token: &str, kind: TokenKind) -> Result<TokenClaims, AppError> {
        self.codec.decode(token, kind).map_err(|e| match e {
            TokenDecodeError::Expired => AppError::TokenExpired,
            TokenDecodeError::Invalid => AppError::TokenInvalid,
        })
    }

    fn encode_pair(
        &self,
        user: UserId,
        device: Option<DeviceId>,
        stamp: SecurityStamp,
        refresh: Issue,
        now: OffsetDateTime,
    ) -> Result<TokenPair, AppError> {
        let access = TokenClaims {
            subject: user,
            token_id: Uuid::new_v4(),
            kind: TokenKind::Access,
            family: None,
            device,
            issued_at: now,
            expires_at: now + self.settings.access_ttl,
            stamp,
        };
        let refresh = TokenClaims {
            subject: user,
            token_id: refresh.token_id,
            kind: TokenKind::Refresh,
            family: Some(refresh.family),
            device,
            issued_at: now,
            expires_at: refresh.expires_at,
            stamp,
        };
        Ok(TokenPair {
            access_token: self.codec.encode(&access).map_err(AppError::Internal)?,
            refresh_token: self.codec.encode(&refresh).map_err(AppError::Internal)?,
            expires_in: self.settings.access_ttl.as_secs(),
        })
    }
}
