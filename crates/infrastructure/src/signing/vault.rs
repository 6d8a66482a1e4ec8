//! The master key: seals secrets at rest (signing keys now; second-factor secrets and
//! webhook secrets later) with XChaCha20-Poly1305.

use anyhow::Context;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use p256::elliptic_curve::rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretSlice};
use zeroize::Zeroizing;

/// Length of a master key, in bytes (`GATEHOUSE_MASTER_KEY` is this many bytes, base64).
pub const MASTER_KEY_BYTES: usize = 32;

/// The first byte of everything sealed: which scheme sealed it, so a later one can be told
/// apart.
const SCHEME: u8 = 1;
const NONCE_BYTES: usize = 24;

/// What a sealed value is for. It is part of the associated data, so a value sealed for one
/// purpose never opens as another's, whatever their labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealPurpose {
    /// A token-signing private key, labelled with its `kid`, algorithm and public JWK.
    SigningKey,
    /// A user's TOTP secret, labelled with the user's id.
    TotpSecret,
}

impl SealPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::SigningKey => "signing-key",
            Self::TotpSecret => "totp-secret",
        }
    }
}

/// A 256-bit key that seals and opens secrets. A random 192-bit nonce per seal from the
/// operating system (XChaCha's extended nonce makes random nonces safe for any number of
/// seals); each sealed value is bound, as associated data, to the scheme, its purpose and a
/// label (for a signing key: its `kid`, algorithm and public JWK, so none of them can be
/// changed in the store without the key failing to open).
#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// HKDF-SHA256's pseudorandom key from the master key: the root of [`Self::derive`].
    derivation: Zeroizing<[u8; 32]>,
}

/// What a key derived from the master key is for: each purpose gets a key of its own, and
/// none of them is the sealing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivedKeyPurpose {
    /// Keys the digests of second-factor recovery codes (HMAC-SHA256).
    RecoveryCodes,
}

impl DerivedKeyPurpose {
    fn info(self) -> &'static [u8] {
        match self {
            Self::RecoveryCodes => b"gatehouse/1/derived/recovery-codes",
        }
    }
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    /// A key from its base64 text (standard or URL-safe alphabet, padded or not); exactly
    /// [`MASTER_KEY_BYTES`] bytes.
    pub fn from_base64(text: &str) -> anyhow::Result<Self> {
        let text = text.trim().trim_end_matches('=');
        // Decoded into a buffer that is wiped, whichever alphabet succeeds.
        let mut buffer = Zeroizing::new([0u8; 64]);
        let length = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode_slice(text, buffer.as_mut())
            .or_else(|_| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode_slice(text, buffer.as_mut())
            })
            .map_err(|_| anyhow::anyhow!("not base64 of {MASTER_KEY_BYTES} bytes"))?;
        anyhow::ensure!(
            length == MASTER_KEY_BYTES,
            "must be {MASTER_KEY_BYTES} bytes, got {length}"
        );
        Self::from_key_bytes(&buffer[..length])
    }

    /// A key from its raw bytes; exactly [`MASTER_KEY_BYTES`] of them.
    pub fn from_bytes(bytes: &SecretSlice<u8>) -> anyhow::Result<Self> {
        let bytes = bytes.expose_secret();
        anyhow::ensure!(
            bytes.len() == MASTER_KEY_BYTES,
            "must be {MASTER_KEY_BYTES} bytes, got {}",
            bytes.len()
        );
        Self::from_key_bytes(bytes)
    }

    fn from_key_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        let cipher =
            XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| anyhow::anyhow!("not a key"))?;
        let (prk, _) = hkdf::Hkdf::<sha2::Sha256>::extract(Some(b"gatehouse/1/derive"), bytes);
        let mut derivation = Zeroizing::new([0u8; 32]);
        derivation.copy_from_slice(&prk);
        Ok(Self { cipher, derivation })
    }

    /// A 256-bit key for `purpose`, derived from the master key (HKDF-SHA256 from the `hkdf`
    /// crate): rotating the master key rotates it.
    pub fn derive(&self, purpose: DerivedKeyPurpose) -> anyhow::Result<Zeroizing<[u8; 32]>> {
        let hkdf = hkdf::Hkdf::<sha2::Sha256>::from_prk(self.derivation.as_ref())
            .map_err(|_| anyhow::anyhow!("not a derivation key"))?;
        let mut key = Zeroizing::new([0u8; 32]);
        hkdf.expand(purpose.info(), key.as_mut())
            .map_err(|_| anyhow::anyhow!("key derivation failed"))?;
        Ok(key)
    }

    /// Seals `secret` for `purpose` under `label`: scheme byte, nonce, then ciphertext and
    /// tag.
    pub fn seal(
        &self,
        purpose: SealPurpose,
        label: &str,
        secret: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(purpose, label);
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let mut out = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
        out.push(SCHEME);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`MasterKey::seal`] sealed for `purpose` under `label`. Fails, saying so,
    /// when the key is not the one that sealed it, the purpose or label differs, or a byte
    /// was changed.
    pub fn open(
        &self,
        purpose: SealPurpose,
        label: &str,
        sealed: &[u8],
    ) -> anyhow::Result<SecretSlice<u8>> {
        let (&scheme, rest) = sealed.split_first().context("sealed value is empty")?;
        anyhow::ensure!(scheme == SCHEME, "sealed with an unknown scheme {scheme}");
        anyhow::ensure!(rest.len() > NONCE_BYTES, "sealed value is truncated");
        let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().context("sealed value is truncated")?;
        let opened = self
            .cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &associated_data(purpose, label),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "cannot open the secret sealed for {label:?}: wrong master key, or the \
                     stored value was changed"
                )
            })?;
        Ok(opened.into())
    }
}

/// `gatehouse/<scheme>/<purpose>` then the label, with a separator no purpose contains.
fn associated_data(purpose: SealPurpose, label: &str) -> Vec<u8> {
    format!("gatehouse/{SCHEME}/{}\0{label}", purpose.as_str()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&SecretSlice::from(vec![byte; MASTER_KEY_BYTES])).unwrap()
    }

    #[test]
    fn what_is_sealed_opens_under_the_same_key_and_label_only() {
        let sealed = key(1)
            .seal(SealPurpose::SigningKey, "kid-1", b"private key")
            .unwrap();
        assert_eq!(
            key(1)
                .open(SealPurpose::SigningKey, "kid-1", &sealed)
                .unwrap()
                .expose_secret(),
            b"private key"
        );
        assert!(
            key(2)
                .open(SealPurpose::SigningKey, "kid-1", &sealed)
                .is_err(),
            "another master key"
        );
        assert!(
            key(1)
                .open(SealPurpose::SigningKey, "kid-2", &sealed)
                .is_err(),
            "moved to another row"
        );
    }

    /// A user's TOTP secret never opens as a signing key, nor the reverse, whatever the
    /// labels say.
    #[test]
    fn a_value_sealed_for_one_purpose_does_not_open_for_another() {
        let sealed = key(1)
            .seal(SealPurpose::TotpSecret, "user-1", b"totp secret")
            .unwrap();
        assert!(
            key(1)
                .open(SealPurpose::SigningKey, "user-1", &sealed)
                .is_err()
        );
        assert!(
            key(1)
                .open(SealPurpose::TotpSecret, "user-1", &sealed)
                .is_ok()
        );
        assert!(
            key(1)
                .open(SealPurpose::TotpSecret, "user-2", &sealed)
                .is_err()
        );
    }

    #[test]
    fn derived_keys_depend_on_the_master_key_and_are_stable() {
        let purpose = DerivedKeyPurpose::RecoveryCodes;
        let first = key(1).derive(purpose).unwrap();
        assert_eq!(*first, *key(1).derive(purpose).unwrap());
        assert_ne!(*first, *key(2).derive(purpose).unwrap());
        assert_ne!(first.as_slice(), [1u8; MASTER_KEY_BYTES].as_slice());
    }

    #[test]
    fn the_scheme_byte_is_authenticated_too() {
        let mut sealed = key(1)
            .seal(SealPurpose::SigningKey, "kid", b"secret")
            .unwrap();
        sealed[0] = 2;
        assert!(
            key(1)
                .open(SealPurpose::SigningKey, "kid", &sealed)
                .is_err()
        );
        let label = associated_data(SealPurpose::SigningKey, "kid");
        assert!(label.starts_with(b"gatehouse/1/signing-key\0"));
    }

    #[test]
    fn a_changed_or_cut_value_is_refused() {
        let sealed = key(1)
            .seal(SealPurpose::SigningKey, "kid", b"secret")
            .unwrap();
        for i in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[i] ^= 1;
            assert!(
                key(1)
                    .open(SealPurpose::SigningKey, "kid", &changed)
                    .is_err(),
                "byte {i}"
            );
        }
        for len in 0..sealed.len() {
            assert!(
                key(1)
                    .open(SealPurpose::SigningKey, "kid", &sealed[..len])
                    .is_err(),
                "{len} bytes"
            );
        }
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let (one, two) = (
            key(1).seal(SealPurpose::SigningKey, "k", b"same").unwrap(),
            key(1).seal(SealPurpose::SigningKey, "k", b"same").unwrap(),
        );
        assert_ne!(one, two);
        assert!(
            !one.windows(4).any(|w| w == b"same"),
            "no plaintext in the output"
        );
    }

    #[test]
    fn a_master_key_is_exactly_32_bytes_of_base64() {
        let text = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(MasterKey::from_base64(&text).is_ok());
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([0xfbu8; 32]);
        assert!(MasterKey::from_base64(&url_safe).is_ok());
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 31]);
        assert!(MasterKey::from_base64(&short).is_err());
        assert!(MasterKey::from_base64("not base64 at all!").is_err());
        assert_eq!(format!("{:?}", key(9)), "MasterKey(..)");
    }
}
