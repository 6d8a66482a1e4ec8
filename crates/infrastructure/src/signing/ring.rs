//! The signing keys loaded in this process: the current key that signs, and every published
//! key that verifies, found by `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use async_trait::async_trait;
use gatehouse_application::ports::{SigningKeyMaterial, StoredSigningKey};
use gatehouse_domain::KeyState;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use secrecy::{ExposeSecret, SecretSlice};
use time::OffsetDateTime;

use super::keys::{KeyAlgorithm, encoding_key, generate, seal_label};
use super::vault::{MasterKey, SealPurpose};

/// The key new tokens are signed with.
pub struct SigningKey {
    /// Its `kid`, put in every token's header.
    pub kid: String,
    /// Its algorithm, the token's `alg`.
    pub algorithm: Algorithm,
    /// The private key.
    pub key: EncodingKey,
}

/// A published key: what verifies the tokens whose header names its `kid`.
pub struct VerifyingKey {
    /// The only algorithm accepted with it: a token naming this `kid` and another `alg` is
    /// refused (no algorithm confusion).
    pub algorithm: Algorithm,
    /// The public key, from its published JWK.
    pub key: DecodingKey,
}

/// One consistent set of loaded keys. Replaced whole, never changed in place.
#[derive(Default)]
pub struct KeyRing {
    signing: Option<SigningKey>,
    verifying: HashMap<String, VerifyingKey>,
    pairs_since: Option<OffsetDateTime>,
}

impl KeyRing {
    /// The key that signs, if one is current.
    pub fn signing(&self) -> Option<&SigningKey> {
        self.signing.as_ref()
    }

    /// The published key with this `kid`.
    pub fn verifying(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifying.get(kid)
    }

    /// When the first key pair of this deployment started signing (see
    /// [`SigningKeyMaterial::install`]).
    pub fn pairs_since(&self) -> Option<OffsetDateTime> {
        self.pairs_since
    }

    /// Opens and loads `published` (see [`SigningKeyMaterial::install`]).
    pub fn load(
        published: &[StoredSigningKey],
        pairs_since: Option<OffsetDateTime>,
        master: &MasterKeys,
    ) -> anyhow::Result<Self> {
        let mut ring = KeyRing {
            pairs_since,
            ..KeyRing::default()
        };
        let mut signing_since = None;
        for stored in published {
            let loaded = open(stored, master)
                .with_context(|| format!("signing key {:?} does not load", stored.kid))?;
            ring.verifying.insert(
                stored.kid.clone(),
                VerifyingKey {
                    algorithm: loaded.algorithm.jwt_algorithm(),
                    key: loaded.decoding,
                },
            );
            // One current key at a time is the store's rule; should two ever be read, the
            // one activated last signs.
            if stored.state == KeyState::Current && stored.activated_at >= signing_since {
                signing_since = stored.activated_at;
                ring.signing = Some(SigningKey {
                    kid: stored.kid.clone(),
                    algorithm: loaded.algorithm.jwt_algorithm(),
                    key: loaded.encoding,
                });
            }
        }
        Ok(ring)
    }
}

struct OpenedKey {
    algorithm: KeyAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// The master key that seals, and during a master-key rotation the one it replaces, which
/// still opens what it sealed.
#[derive(Clone)]
pub struct MasterKeys {
    /// `GATEHOUSE_MASTER_KEY`: seals, and opens.
    pub current: MasterKey,
    /// `GATEHOUSE_MASTER_KEY_PREVIOUS`: only opens.
    pub previous: Option<MasterKey>,
}

impl MasterKeys {
    /// `stored`'s private half, and whether the previous master key sealed it.
    fn open(&self, stored: &StoredSigningKey) -> anyhow::Result<(SecretSlice<u8>, bool)> {
        let algorithm = KeyAlgorithm::parse(&stored.algorithm)
            .with_context(|| format!("unknown algorithm {:?}", stored.algorithm))?;
        let label = seal_label(&stored.kid, algorithm, &stored.public_jwk);
        let sealed = &stored.sealed_private_key;
        match self.current.open(SealPurpose::SigningKey, &label, sealed) {
            Ok(private) => Ok((private, false)),
            Err(refused) => match &self.previous {
                Some(previous) => previous
                    .open(SealPurpose::SigningKey, &label, sealed)
                    .map(|private| (private, true))
                    .map_err(|_| refused),
                None => Err(refused),
            },
        }
    }
}

/// Opens a stored key: its seal (bound to its `kid`, algorithm and public JWK) proves none of
/// them was changed, then its public JWK must be a key of its algorithm under its `kid`.
fn open(stored: &StoredSigningKey, master: &MasterKeys) -> anyhow::Result<OpenedKey> {
    let algorithm = KeyAlgorithm::parse(&stored.algorithm)
        .with_context(|| format!("unknown algorithm {:?}", stored.algorithm))?;
    let (private, _) = master.open(stored)?;
    let jwk: Jwk = serde_json::from_str(&stored.public_jwk).context("public JWK is not a JWK")?;
    anyhow::ensure!(
        jwk.common.key_id.as_deref() == Some(stored.kid.as_str()),
        "public JWK names another kid"
    );
    anyhow::ensure!(
        jwk.is_supported()
            && jwk.common.key_algorithm.map(|a| a.to_string())
                == Some(algorithm.as_str().to_owned()),
        "public JWK is not an {} key",
        algorithm.as_str()
    );
    check_sizes(&jwk, algorithm)?;
    let decoding = DecodingKey::from_jwk(&jwk).context("public JWK does not load")?;
    let encoding = encoding_key(algorithm, private.expose_secret());
    // The two halves must be one key pair: a probe signed by the private half verifies
    // under the public one, or nothing this key signs would.
    let probe = format!("gatehouse key probe {}", stored.kid);
    let signed = jsonwebtoken::crypto::sign(probe.as_bytes(), &encoding, algorithm.jwt_algorithm())
        .context("private key does not sign")?;
    let verified = jsonwebtoken::crypto::verify(
        &signed,
        probe.as_bytes(),
        &decoding,
        algorithm.jwt_algorithm(),
    )
    .context("public key does not verify")?;
    anyhow::ensure!(verified, "public and private halves are not one key pair");
    Ok(OpenedKey {
        algorithm,
        encoding,
        decoding,
    })
}

/// The public parameters have the sizes of their algorithm. jsonwebtoken does not check
/// them, and its Ed25519 verifier panics on a short key.
fn check_sizes(jwk: &Jwk, algorithm: KeyAlgorithm) -> anyhow::Result<()> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = |value: &str| URL_SAFE_NO_PAD.decode(value).map(|b| b.len()).unwrap_or(0);
    let fits = match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::OctetKeyPair(okp), KeyAlgorithm::EdDsa) => bytes(&okp.x) == 32,
        (AlgorithmParameters::EllipticCurve(ec), KeyAlgorithm::Es256) => {
            bytes(&ec.x) == 32 && bytes(&ec.y) == 32
        }
        (AlgorithmParameters::RSA(rsa), KeyAlgorithm::Rs256) => bytes(&rsa.n) >= 256,
        _ => false,
    };
    anyhow::ensure!(
        fits,
        "public JWK has the wrong parameters for {}",
        algorithm.as_str()
    );
    Ok(())
}

/// Key pairs sealed under the master key, installed into a [`KeyRing`] shared with the token
/// codec.
pub struct SealedKeyMaterial {
    master: MasterKeys,
    algorithm: KeyAlgorithm,
    ring: Arc<ArcSwap<KeyRing>>,
}

impl SealedKeyMaterial {
    /// New keys for `algorithm`, sealed under `master`, loaded into `ring`.
    pub fn new(master: MasterKey, algorithm: KeyAlgorithm, ring: Arc<ArcSwap<KeyRing>>) -> Self {
        Self::rotating(
            MasterKeys {
                current: master,
                previous: None,
            },
            algorithm,
            ring,
        )
    }

    /// As [`Self::new`], during a master-key rotation: keys the previous master key sealed
    /// still open.
    pub fn rotating(
        master: MasterKeys,
        algorithm: KeyAlgorithm,
        ring: Arc<ArcSwap<KeyRing>>,
    ) -> Self {
        Self {
            master,
            algorithm,
            ring,
        }
    }
}

#[async_trait]
impl SigningKeyMaterial for SealedKeyMaterial {
    fn algorithm(&self) -> &str {
        self.algorithm.as_str()
    }

    async fn generate(
        &self,
        state: KeyState,
        now: OffsetDateTime,
    ) -> anyhow::Result<StoredSigningKey> {
        let algorithm = self.algorithm;
        // RSA key generation takes a noticeable moment: off the async threads.
        let key = tokio::task::spawn_blocking(move || generate(algorithm))
            .await
            .context("key generation stopped")??;
        let public_jwk =
            serde_json::to_string(&key.public_jwk).context("JWK does not serialise")?;
        let label = seal_label(&key.kid, algorithm, &public_jwk);
        let sealed_private_key = self.master.current.seal(
            SealPurpose::SigningKey,
            &label,
            key.private_der.expose_secret(),
        )?;
        Ok(StoredSigningKey {
            kid: key.kid.clone(),
            algorithm: algorithm.as_str().to_owned(),
            state,
            public_jwk,
            sealed_private_key,
            created_at: now,
            activated_at: (state == KeyState::Current).then_some(now),
            retired_at: None,
        })
    }

    fn install(
        &self,
        published: &[StoredSigningKey],
        pairs_since: Option<OffsetDateTime>,
    ) -> anyhow::Result<()> {
        let ring = KeyRing::load(published, pairs_since, &self.master)?;
        self.ring.store(Arc::new(ring));
        Ok(())
    }

    fn reseal(&self, key: &StoredSigningKey) -> anyhow::Result<Option<Vec<u8>>> {
        let (private, by_previous) = self
            .master
            .open(key)
            .with_context(|| format!("signing key {:?} does not open", key.kid))?;
        if !by_previous {
            return Ok(None);
        }
        let label = seal_label(
            &key.kid,
            KeyAlgorithm::parse(&key.algorithm).context("unknown algorithm")?,
            &key.public_jwk,
        );
        self.master
            .current
            .seal(SealPurpose::SigningKey, &label, private.expose_secret())
            .map(Some)
    }
}
