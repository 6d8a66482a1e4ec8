//! The stores and codecs credentials are kept and checked with.

mod email_token_store;
mod session_store;
mod signing_key_material;
mod signing_key_store;
mod token_codec;
mod token_store;

pub use crate::shared::context::SessionKey;
pub use email_token_store::{EmailTokenStore, TokenPurpose};
pub use session_store::{SessionRecord, SessionStore};
pub use signing_key_material::SigningKeyMaterial;
pub use signing_key_store::{SigningKeyStore, StoredSigningKey};
pub use token_codec::{AccessGrant, TokenClaims, TokenCodec, TokenDecodeError, TokenKind};
pub use token_store::{
    AccessTokenCheck, RefreshFamily, RefreshTokenState, Rotation, RotationRequest, TokenStore,
};

#[cfg(any(test, feature = "mock"))]
pub use {
    email_token_store::MockEmailTokenStore, session_store::MockSessionStore,
    signing_key_material::MockSigningKeyMaterial, signing_key_store::MockSigningKeyStore,
    token_codec::MockTokenCodec, token_store::MockTokenStore,
};
