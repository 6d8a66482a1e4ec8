//! Key pairs for signing access tokens, and their public JWKs.

use anyhow::Context;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::elliptic_curve::rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretSlice};
use zeroize::Zeroizing;

/// The asymmetric algorithms a deployment may sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// Ed25519 signatures (`EdDSA`): small keys, fast, the default.
    EdDsa,
    /// ECDSA on P-256 with SHA-256 (`ES256`).
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key (`RS256`).
    Rs256,
}

impl KeyAlgorithm {
    /// The JOSE name (`EdDSA`, `ES256`, `RS256`), as tokens' `alg` header and JWKs carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// Parses a JOSE name, exactly.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDsa),
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    /// jsonwebtoken's name for it.
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

/// A fresh key pair: the private key as the DER jsonwebtoken signs with (PKCS#8 for Ed25519
/// and P-256, PKCS#1 for RSA), its public JWK, and its `kid`.
pub struct GeneratedKey {
    /// The key's id: the RFC 7638 SHA-256 thumbprint of its public JWK.
    pub kid: String,
    /// What it signs with.
    pub algorithm: KeyAlgorithm,
    /// The private key, DER.
    pub private_der: SecretSlice<u8>,
    /// The public key as published: `kty`, `kid`, `alg`, `use: sig` and the public
    /// parameters only.
    pub public_jwk: Jwk,
}

impl std::fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl GeneratedKey {
    /// What signs tokens with this key.
    pub fn encoding_key(&self) -> EncodingKey {
        encoding_key(self.algorithm, self.private_der.expose_secret())
    }

    /// The label its private half is sealed under: `kid`, algorithm and the public JWK as
    /// published, so a stored key whose public half was swapped does not open.
    pub fn seal_label(&self) -> anyhow::Result<String> {
        let jwk = serde_json::to_string(&self.public_jwk).context("JWK does not serialise")?;
        Ok(seal_label(&self.kid, self.algorithm, &jwk))
    }

    /// What verifies its tokens, built from the published JWK alone (as other services do).
    pub fn decoding_key(&self) -> anyhow::Result<DecodingKey> {
        DecodingKey::from_jwk(&self.public_jwk).context("the key's own JWK does not load")
    }
}

/// The label a signing key's private half is sealed under (see [`GeneratedKey::seal_label`]).
pub fn seal_label(kid: &str, algorithm: KeyAlgorithm, public_jwk: &str) -> String {
    format!("{kid}\0{}\0{public_jwk}", algorithm.as_str())
}

/// What signs with a private key in the DER form [`GeneratedKey`] holds.
pub fn encoding_key(algorithm: KeyAlgorithm, private_der: &[u8]) -> EncodingKey {
    match algorithm {
        KeyAlgorithm::EdDsa => EncodingKey::from_ed_der(private_der),
        KeyAlgorithm::Es256 => EncodingKey::from_ec_der(private_der),
        KeyAlgorithm::Rs256 => EncodingKey::from_rsa_der(private_der),
    }
}

/// A new key pair for `algorithm`, from the operating system's random source. RSA-2048 takes
/// a noticeable moment; call it off the async threads.
pub fn generate(algorithm: KeyAlgorithm) -> anyhow::Result<GeneratedKey> {
    let private_der: Vec<u8> = match algorithm {
        KeyAlgorithm::EdDsa => {
            use ed25519_dalek::pkcs8::{EncodePrivateKey, KeypairBytes};
            let mut secret_key = Zeroizing::new([0u8; 32]);
            OsRng.fill_bytes(secret_key.as_mut());
            // PKCS#8 v1 (the seed alone, 48 bytes): the form jsonwebtoken reads a JWK from.
            KeypairBytes {
                secret_key: *secret_key,
                public_key: None,
            }
            .to_pkcs8_der()
            .context("Ed25519 key does not encode")?
            .as_bytes()
            .to_vec()
        }
        KeyAlgorithm::Es256 => {
            use p256::pkcs8::EncodePrivateKey;
            p256::ecdsa::SigningKey::random(&mut OsRng)
                .to_pkcs8_der()
                .context("P-256 key does not encode")?
                .as_bytes()
                .to_vec()
        }
        KeyAlgorithm::Rs256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            // rsa 0.9 has RUSTSEC-2023-0071 (Marvin, a timing side channel in decryption and
            // signing); EdDSA is the default, RS256 is for verifiers that know nothing else.
            rsa::RsaPrivateKey::new(&mut OsRng, 2048)
                .context("RSA key generation failed")?
                .to_pkcs1_der()
                .context("RSA key does not encode")?
                .as_bytes()
                .to_vec()
        }
    };
    let encoding = encoding_key(algorithm, &private_der);
    let mut public_jwk = Jwk::from_encoding_key(&encoding, algorithm.jwt_algorithm())
        .context("no public JWK for the new key")?;
    let kid = public_jwk.thumbprint(ThumbprintHash::SHA256)?;
    public_jwk.common.key_id = Some(kid.clone());
    public_jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    Ok(GeneratedKey {
        kid,
        algorithm,
        private_der: private_der.into(),
        public_jwk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Header, Validation, decode, encode};
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        exp: u64,
    }

    const ALL: [KeyAlgorithm; 3] = [
        KeyAlgorithm::EdDsa,
        KeyAlgorithm::Es256,
        KeyAlgorithm::Rs256,
    ];

    fn sign(key: &GeneratedKey) -> String {
        let mut header = Header::new(key.algorithm.jwt_algorithm());
        header.kid = Some(key.kid.clone());
        let claims = Claims {
            sub: "ada".into(),
            exp: 4_000_000_000,
        };
        encode(&header, &claims, &key.encoding_key()).unwrap()
    }

    fn verify(token: &str, key: &GeneratedKey) -> jsonwebtoken::errors::Result<Claims> {
        let mut validation = Validation::new(key.algorithm.jwt_algorithm());
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        decode::<Claims>(token, &key.decoding_key().unwrap(), &validation).map(|d| d.claims)
    }

    #[test]
    fn every_algorithm_signs_what_its_published_jwk_alone_verifies() {
        for algorithm in ALL {
            let key = generate(algorithm).unwrap();
            let token = sign(&key);
            assert_eq!(verify(&token, &key).unwrap().sub, "ada", "{algorithm:?}");
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(header.alg, algorithm.jwt_algorithm());
        }
    }

    #[test]
    fn another_key_of_the_same_algorithm_verifies_nothing() {
        for algorithm in ALL {
            let (one, other) = (generate(algorithm).unwrap(), generate(algorithm).unwrap());
            assert_ne!(one.kid, other.kid);
            assert!(verify(&sign(&one), &other).is_err(), "{algorithm:?}");
        }
    }

    #[test]
    fn a_tampered_or_truncated_signature_is_refused() {
        let key = generate(KeyAlgorithm::EdDsa).unwrap();
        let token = sign(&key);
        let truncated = &token[..token.len() - 4];
        assert!(verify(truncated, &key).is_err());
        let (head, _) = token.rsplit_once('.').unwrap();
        let forged = format!("{head}.AAAA");
        assert!(verify(&forged, &key).is_err());
    }

    #[test]
    fn the_published_jwk_has_no_private_parameter_and_names_its_use() {
        for algorithm in ALL {
            let key = generate(algorithm).unwrap();
            let json = serde_json::to_value(&key.public_jwk).unwrap();
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(
                    json.get(private).is_none(),
                    "{algorithm:?} publishes {private}"
                );
            }
            assert_eq!(json["kid"], key.kid.as_str());
            assert_eq!(json["use"], "sig");
            assert_eq!(json["alg"], algorithm.as_str());
            assert_eq!(KeyAlgorithm::parse(algorithm.as_str()), Some(algorithm));
        }
        assert_eq!(KeyAlgorithm::parse("HS256"), None);
        assert_eq!(KeyAlgorithm::parse("none"), None);
    }

    #[test]
    fn the_kid_is_the_rfc7638_thumbprint_of_the_public_key() {
        let key = generate(KeyAlgorithm::Es256).unwrap();
        let mut bare = key.public_jwk.clone();
        bare.common = Default::default();
        assert_eq!(bare.thumbprint(ThumbprintHash::SHA256).unwrap(), key.kid);
        assert!(
            !format!("{key:?}").contains("private"),
            "Debug shows no key material"
        );
    }
}
