//! Who is asking, with what, and from where: the request context every capability reads,
//! and the digests that name secrets in stores.

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a request comes from, as far as the HTTP layer can tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address (the peer, or what a trusted proxy forwarded).
    pub address: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Who is making a request, and with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The authenticated user.
    pub user_id: UserId,
    /// The device the credential was issued to, when known.
    pub device: Option<DeviceId>,
    /// The account's security stamp the credential was issued under: below the account's
    /// revocation floor, the credential is dead (see [`crate::accounts::users::UserService::me`]).
    pub stamp: SecurityStamp,
    /// When the sign-in behind the credential happened (a session's login, a token family's
    /// login): what changes that need a recent sign-in look at.
    pub authenticated_at: OffsetDateTime,
    /// The credential that proved it.
    pub credential: Credential,
    /// The account's version (see [`crate::accounts::ports::AccountVersions`]) when it was
    /// read along with the credential, in the same round trip; `None` when it was not.
    pub account_version: Option<u64>,
    /// Where the request comes from (filled in by the HTTP layer).
    pub client: ClientInfo,
}

/// The credential behind a [`Principal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A bearer access token.
    AccessToken {
        /// Its `jti`.
        token_id: Uuid,
        /// Its expiry, so a denylist entry can expire with it.
        expires_at: OffsetDateTime,
    },
    /// A session cookie.
    Session {
        /// The session's store key.
        key: SessionKey,
    },
}

/// The key a session is stored under: the SHA-256 of its id, hex. The raw id lives only in
/// the client's cookie, so a copy of the store opens no session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey(String);

impl SessionKey {
    /// Wraps a value that is already a key: [`session_key`] derives one from a session id,
    /// tests and store contracts make up their own.
    pub fn from_hash(hex: String) -> Self {
        Self(hex)
    }

    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of `input`, lower-case hex: how secrets and identifiers are named in stores.
pub(crate) fn sha256_hex(input: &str) -> String {
    Sha256::digest(input.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The store key of a session id.
pub fn session_key(session_id: &str) -> SessionKey {
    SessionKey::from_hash(sha256_hex(session_id))
}

/// A new emailed token and the digest that is stored in its place.
pub(crate) fn new_email_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let digest = token_digest(&token);
    (token, digest)
}

/// The stored form of an emailed token.
pub(crate) fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
