//! The token codec port: signs and verifies access and refresh tokens (JWT in production).

use std::collections::BTreeSet;

use gatehouse_domain::{AuthMethod, DeviceId, Permission, Role, SecurityStamp, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

/// The two kinds of token. A token is only ever accepted as its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Short-lived, presented on every request.
    Access,
    /// Long-lived, exchanged once for a new pair.
    Refresh,
}

impl TokenKind {
    /// The `typ` claim value.
    pub fn as_str(&self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The user.
    pub subject: UserId,
    /// Unique id of this token (`jti`).
    pub token_id: Uuid,
    /// Access or refresh.
    pub kind: TokenKind,
    /// The refresh family this token belongs to (refresh tokens only).
    pub family: Option<Uuid>,
    /// The device it was issued to, so revoking the device reaches it.
    pub device: Option<DeviceId>,
    /// When it was issued, to the millisecond: per-user revocation compares against it.
    pub issued_at: OffsetDateTime,
    /// When the sign-in this token descends from happened (`auth_time`): a refresh keeps
    /// it, so a long-lived family cannot pass for a recent sign-in.
    pub authenticated_at: OffsetDateTime,
    /// When it stops being valid.
    pub expires_at: OffsetDateTime,
    /// The user's security stamp when the sign-in that this token descends from read the
    /// account: a sign-out everywhere, password change or deactivation refuses every token
    /// issued under an older stamp.
    pub stamp: SecurityStamp,
    /// How the sign-in this token descends from proved the user (`amr`): a refresh keeps
    /// the methods of the login that started its family.
    pub methods: Vec<AuthMethod>,
    /// What the user may do, as the account read when the token was issued (access tokens
    /// only; `None` for refresh tokens and for access tokens from before grants were
    /// carried). For other services: Gatehouse itself reads the account.
    pub grant: Option<AccessGrant>,
}

/// The role and permissions an access token carries (`role`, `permissions`), as the account
/// had them when the token was issued. Gatehouse reads the account instead; a change to them
/// is marked ([`super::TokenStore::mark_grant_changed`]) so that services trusting the claims
/// refuse the tokens issued before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    /// The user's role.
    pub role: Role,
    /// The user's finer grants.
    pub permissions: BTreeSet<Permission>,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenDecodeError {
    /// Well-formed and authentic, but past its expiry.
    #[error("token expired")]
    Expired,
    /// Malformed, forged, wrong algorithm, wrong issuer or audience, or wrong kind.
    #[error("token invalid")]
    Invalid,
}

/// Signs and verifies tokens. Synchronous: it is pure CPU work of microseconds.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TokenCodec: Send + Sync {
    /// Signs `claims` into a token string.
    fn encode(&self, claims: &TokenClaims) -> anyhow::Result<String>;

    /// Verifies a token string and that it is of kind `expected`.
    fn decode(&self, token: &str, expected: TokenKind) -> Result<TokenClaims, TokenDecodeError>;
}
