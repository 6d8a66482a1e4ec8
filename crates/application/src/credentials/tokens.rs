//! Bearer tokens: short-lived signed access tokens and rotating refresh tokens grouped in
//! families, where presenting an already rotated refresh token revokes its whole family.

use std::sync::Arc;
use std::time::Duration;

use gatehouse_domain::{AuthMethod, DeviceId, SecurityStamp, User, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::credentials::ports::{
    AccessGrant, RefreshFamily, RefreshTokenState, Rotation, RotationRequest, TokenClaims,
    TokenCodec, TokenDecodeError, TokenKind, TokenStore,
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
    /// It was live: its family moved on to a new refresh token. The caller checks the
    /// account, then [`TokenService::finish_rotation`] adds the access token (or
    /// [`TokenService::abandon_rotation`] revokes the family).
    Rotated(RotatedFamily),
    /// It had already been rotated: theft assumed, its family is now revoked. The caller
    /// must refuse the request.
    ReuseDetected {
        /// The token's owner.
        user: UserId,
    },
}

/// A refresh family that has just moved on to its next refresh token, before the access
/// token that goes with it: that one carries the account's grant as read now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedFamily {
    /// The token's owner.
    pub user: UserId,
    /// The security stamp the family carries (its login's).
    pub stamp: SecurityStamp,
    /// The device it was issued to.
    pub device: Option<DeviceId>,
    /// How the login that started the family proved the user.
    pub methods: Vec<AuthMethod>,
    /// When that login happened.
    pub authenticated_at: OffsetDateTime,
    family: Uuid,
    refresh_token: String,
    issued_at: OffsetDateTime,
}

/// A refresh token someone holds, judged without rotating it (see
/// [`TokenService::inspect_refresh`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRefresh {
    /// The token's owner.
    pub user: UserId,
    /// The security stamp it carries (its login's).
    pub stamp: SecurityStamp,
    /// Where it stands in its family.
    pub standing: RefreshStanding,
    family: Uuid,
}

/// Where a held refresh token stands in a family that is still alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshStanding {
    /// The family's live token.
    Live,
    /// Rotated away from within the reuse grace window: a concurrent request of its own
    /// client, not theft.
    WithinGrace,
    /// Rotated away from earlier: whoever presents it holds a copy the family has moved
    /// past, which is theft (reuse).
    Superseded,
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

    /// Starts a new refresh family for `user` (as the sign-in read the account) on `device`
    /// and issues its first pair, under the account's security stamp, saying the user proved
    /// themselves with `methods`.
    #[tracing::instrument(skip_all, fields(user = %user.id))]
    pub async fn issue_new_family(
        &self,
        user: &User,
        device: Option<DeviceId>,
        methods: Vec<AuthMethod>,
    ) -> Result<TokenPair, AppError> {
        let now = self.clock.now();
        let absolute_expires_at = now + self.settings.absolute_ttl;
        let family = RefreshFamily {
            id: Uuid::new_v4(),
            user: user.id,
            current_token: Uuid::new_v4(),
            device,
            expires_at: (now + self.settings.refresh_ttl).min(absolute_expires_at),
            absolute_expires_at,
        };
        self.store.create_family(&family).await?;
        let issued = IssuedTo {
            user: user.id,
            device,
            stamp: user.security_stamp,
            methods,
            authenticated_at: now,
            now,
        };
        let refresh_token = self.encode_refresh(
            &issued,
            Issue {
                family: family.id,
                token_id: family.current_token,
                expires_at: family.expires_at,
            },
        )?;
        self.pair(&issued, refresh_token, grant_of(user))
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
                // The stamp is the login's, not the account's as read now: a refresh that
                // races a sign-out everywhere must not mint a token that survives it.
                let issued = IssuedTo {
                    user: claims.subject,
                    device: claims.device,
                    stamp: claims.stamp,
                    methods: claims.methods,
                    authenticated_at: claims.authenticated_at,
                    now,
                };
                let refresh_token = self.encode_refresh(
                    &issued,
                    Issue {
                        family,
                        token_id: next,
                        expires_at,
                    },
                )?;
                Ok(Refreshed::Rotated(RotatedFamily {
                    user: issued.user,
                    stamp: issued.stamp,
                    device: issued.device,
                    methods: issued.methods,
                    authenticated_at: issued.authenticated_at,
                    family,
                    refresh_token,
                    issued_at: now,
                }))
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

    /// The pair of a rotation whose account is still fine: its new refresh token and an
    /// access token carrying `account`'s grant as read now.
    pub fn finish_rotation(
        &self,
        rotated: RotatedFamily,
        account: &User,
    ) -> Result<TokenPair, AppError> {
        let issued = IssuedTo {
            user: rotated.user,
            device: rotated.device,
            stamp: rotated.stamp,
            methods: rotated.methods,
            authenticated_at: rotated.authenticated_at,
            now: rotated.issued_at,
        };
        self.pair(&issued, rotated.refresh_token, grant_of(account))
    }

    /// Revokes the family of a rotation whose account may no longer have tokens.
    pub async fn abandon_rotation(&self, rotated: &RotatedFamily) -> Result<(), AppError> {
        Ok(self.store.revoke_family(rotated.family).await?)
    }

    /// Judges a refresh token without rotating it or changing anything: whose it is and
    /// whether it is its family's live token. A family that is over (revoked, expired,
    /// unknown), or anything that is not one of our refresh tokens, is an error.
    pub async fn inspect_refresh(&self, refresh_token: &str) -> Result<HeldRefresh, AppError> {
        let claims = self.decode(refresh_token, TokenKind::Refresh)?;
        let family = claims.family.ok_or(AppError::TokenInvalid)?;
        let now = self.clock.now();
        let state = self
            .store
            .refresh_token_state(family, claims.token_id, now, self.settings.reuse_grace)
            .await?;
        let standing = match state {
            RefreshTokenState::Live => RefreshStanding::Live,
            RefreshTokenState::WithinGrace => RefreshStanding::WithinGrace,
            RefreshTokenState::Superseded => RefreshStanding::Superseded,
            RefreshTokenState::Expired => return Err(AppError::TokenExpired),
            // As in `rotate`: a store may have forgotten a family whose time is up.
            RefreshTokenState::Revoked if claims.expires_at <= now => {
                return Err(AppError::TokenExpired);
            }
            RefreshTokenState::Revoked => return Err(AppError::TokenInvalid),
        };
        Ok(HeldRefresh {
            user: claims.subject,
            stamp: claims.stamp,
            standing,
            family,
        })
    }

    /// Revokes the family of a held refresh token, every descendant included.
    pub async fn end_family(&self, held: &HeldRefresh) -> Result<(), AppError> {
        Ok(self.store.revoke_family(held.family).await?)
    }

    /// Whether `access_token` carries `account`'s role and permissions as they are now. A
    /// service that trusts the token's claims must not be told that a token minted before a
    /// demotion is valid.
    pub fn carries_grant_of(&self, access_token: &str, account: &User) -> bool {
        self.codec
            .decode(access_token, TokenKind::Access)
            .is_ok_and(|claims| claims.grant == Some(grant_of(account)))
    }

    /// Verifies a bearer access token, including server-side revocation.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AppError> {
        let claims = self.decode(access_token, TokenKind::Access)?;
        let check = self
            .store
            .check_access_token(
                claims.subject,
                claims.device,
                claims.token_id,
                claims.issued_at,
                claims.stamp,
            )
            .await?;
        if check.revoked {
            return Err(AppError::TokenInvalid);
        }
        Ok(Principal {
            user_id: claims.subject,
            device: claims.device,
            stamp: claims.stamp,
            authenticated_at: claims.authenticated_at,
            credential: Credential::AccessToken {
                token_id: claims.token_id,
                expires_at: claims.expires_at,
            },
            account_version: check.account_version,
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

    /// Tells other services that `user`'s grant changed now: the access tokens issued until
    /// now carry the old one (see [`TokenStore::mark_grant_changed`]).
    pub async fn grant_changed(&self, user: UserId) -> Result<(), AppError> {
        let now = self.clock.now();
        self.store
            .mark_grant_changed(user, now, now + self.settings.access_ttl + EXPIRY_MARGIN)
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

    fn encode_refresh(&self, issued: &IssuedTo, refresh: Issue) -> Result<String, AppError> {
        let claims = TokenClaims {
            subject: issued.user,
            token_id: refresh.token_id,
            kind: TokenKind::Refresh,
            family: Some(refresh.family),
            device: issued.device,
            issued_at: issued.now,
            authenticated_at: issued.authenticated_at,
            expires_at: refresh.expires_at,
            stamp: issued.stamp,
            methods: issued.methods.clone(),
            grant: None,
        };
        self.codec.encode(&claims).map_err(AppError::Internal)
    }

    fn pair(
        &self,
        issued: &IssuedTo,
        refresh_token: String,
        grant: AccessGrant,
    ) -> Result<TokenPair, AppError> {
        let access = TokenClaims {
            subject: issued.user,
            token_id: Uuid::new_v4(),
            kind: TokenKind::Access,
            family: None,
            device: issued.device,
            issued_at: issued.now,
            authenticated_at: issued.authenticated_at,
            expires_at: issued.now + self.settings.access_ttl,
            stamp: issued.stamp,
            methods: issued.methods.clone(),
            grant: Some(grant),
        };
        Ok(TokenPair {
            access_token: self.codec.encode(&access).map_err(AppError::Internal)?,
            refresh_token,
            expires_in: self.settings.access_ttl.as_secs(),
        })
    }
}

/// Whom a pair is issued to, and under what.
struct IssuedTo {
    user: UserId,
    device: Option<DeviceId>,
    stamp: SecurityStamp,
    methods: Vec<AuthMethod>,
    authenticated_at: OffsetDateTime,
    now: OffsetDateTime,
}

fn grant_of(user: &User) -> AccessGrant {
    AccessGrant {
        role: user.role,
        permissions: user.permissions.clone(),
    }
}
