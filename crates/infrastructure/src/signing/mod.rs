//! Asymmetric signing keys and the master key that seals them at rest.
//!
//! - [`generate`]: a fresh key pair for EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA-2048),
//!   from the RustCrypto crates (`ed25519-dalek`, `p256`, `rsa`) that jsonwebtoken's
//!   `rust_crypto` provider signs with; its public half as a JWK (no private parameter) and its
//!   `kid`, the key's RFC 7638 thumbprint.
//! - [`MasterKey`]: XChaCha20-Poly1305 (`chacha20poly1305`) sealing of private keys, each
//!   bound as associated data to its purpose and to its `kid`, algorithm and public JWK
//!   ([`GeneratedKey::seal_label`]), so none can be changed or moved in the store without the
//!   key failing to open.
//!
//! - [`KeyRing`]: the keys loaded in this process, the current one signing and every
//!   published one verifying by `kid`; [`SealedKeyMaterial`] makes, seals and loads them.
//!
//! No cryptography is written here: these are the primitive crates' own operations.

mod keys;
mod ring;
mod vault;

pub use keys::{GeneratedKey, KeyAlgorithm, generate, seal_label};
pub use ring::{KeyRing, MasterKeys, SealedKeyMaterial, SigningKey, VerifyingKey};
pub use vault::{DerivedKeyPurpose, MASTER_KEY_BYTES, MasterKey, SealPurpose};
