//! Signed JWTs: asymmetric keys from the [`KeyRing`] (EdDSA by default, found by `kid`), or
//! the legacy HS256 shared secret.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_application::ports::{
    AccessGrant, TokenClaims, TokenCodec, TokenDecodeError, TokenKind,
};
use gatehouse_domain::{AuthMethod, DeviceId, Permission, Role, SecurityStamp, UserId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::signing::KeyRing;

/// What signs new tokens.
#[derive(Clone)]
pub enum TokenSigner {
    /// The current key of a key ring that rotations replace (`EdDSA`, `ES256`, `RS256`).
    KeyRing(Arc<ArcSwap<KeyRing>>),
    /// One shared HS256 secret (`GATEHOUSE_JWT_ALGORITHM=HS256`, the legacy choice).
    Secret(SecretString),
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KeyRing(_) => f.write_str("TokenSigner::KeyRing"),
            Self::Secret(_) => f.write_str("TokenSigner::Secret(..)"),
        }
    }
}

/// Who signs tokens and for whom.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// Signs every new token; with a secret, it verifies too.
    pub signer: TokenSigner,
    /// HS256 secrets that only verify, tried after a signing secret: during a secret
    /// rotation, the next secret (before it signs anywhere) or the previous one (until the
    /// tokens it signed have expired); after a move from HS256 to a key ring, the old secret
    /// (until the last HS256 token has expired).
    pub verify_only: Vec<SecretString>,
    /// `iss` claim, checked on decode.
    pub issuer: String,
    /// `aud` claim, checked on decode.
    pub audience: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: Uuid,
    jti: Uuid,
    typ: String,
    iat: i64,
    /// `iat` to the millisecond. Per-user revocation ("every token issued before now") must
    /// not catch a token issued a few milliseconds after it, in the same second.
    iat_ms: i64,
    exp: i64,
    iss: String,
    aud: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fam: Option<Uuid>,
    /// The device the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dev: Option<Uuid>,
    /// The user's security stamp when the sign-in read the account; tokens from before
    /// stamps existed read as the first stamp, which any sign-out everywhere passes.
    #[serde(default)]
    stm: u64,
    /// Access tokens: the user's role (absent from tokens issued before it was carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    permissions: Option<Vec<String>>,
    #[serde(default)]
    amr: Vec<String>,
}

/// The `iss` of every HS256 token issued before `GATEHOUSE_JWT_ISSUER` existed: still
/// accepted on HS256 tokens so that an upgrade signs no one out. Remove in the release after
/// next, when the last of them has expired.
const LEGACY_ISSUER: &str = "gatehouse";

/// The algorithms a key ring's keys may have.
const ASYMMETRIC: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

/// JWTs signed by a [`TokenSigner`]. A token is verified only by a key that exists for its
/// header: an asymmetric `alg` by the published key its `kid` names, with exactly that key's
/// algorithm; `HS256` by a configured secret; `none` and everything else never.
pub struct JwtCodec {
    signer: TokenSigner,
    /// The `kid` HS256 tokens carry (a digest of the secret; it finds nothing, it says which).
    secret_kid: Option<String>,
    /// The signing secret's, then the verify-only secrets'.
    secrets: Vec<DecodingKey>,
    encoding_secret: Option<EncodingKey>,
    /// One validation per algorithm, each accepting that algorithm alone.
    validations: Vec<(Algorithm, Validation)>,
    issuer: String,
    audience: String,
}

impl JwtCodec {
    /// A codec with these keys and names.
    pub fn new(settings: &JwtSettings) -> Self {
        let signing_secret = match &settings.signer {
            TokenSigner::Secret(secret) => Some(secret),
            TokenSigner::KeyRing(_) => None,
        };
        let validations = ASYMMETRIC
            .into_iter()
            .chain([Algorithm::HS256])
            .map(|algorithm| {
                let mut validation = Validation::new(algorithm);
                if algorithm == Algorithm::HS256 {
                    validation.set_issuer(&[settings.issuer.as_str(), LEGACY_ISSUER]);
                } else {
                    validation.set_issuer(&[&settings.issuer]);
                }
                validation.set_audience(&[&settings.audience]);
                validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
                // Instances share one clock source in practice; a leeway would only extend
                // the life of every token.
                validation.leeway = 0;
                (algorithm, validation)
            })
            .collect();
        Self {
            signer: settings.signer.clone(),
            secret_kid: signing_secret.map(secret_kid),
            secrets: signing_secret
                .into_iter()
                .chain(&settings.verify_only)
                .map(|secret| DecodingKey::from_secret(secret.expose_secret().as_bytes()))
                .collect(),
            encoding_secret: signing_secret
                .map(|secret| EncodingKey::from_secret(secret.expose_secret().as_bytes())),
            validations,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        }
    }

    fn validation(&self, algorithm: Algorithm) -> Result<&Validation, TokenDecodeError> {
        self.validations
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, v)| v)
            .ok_or(TokenDecodeError::Invalid)
    }

    /// The claims of a token whose signature a key for its header verifies. The signature
    /// is checked before anything else, so only a signature mismatch moves on to the next
    /// secret: an expired token signed by a known key is expired, not "try another key".
    fn verified_claims(&self, token: &str) -> Result<Claims, TokenDecodeError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenDecodeError::Invalid)?;
        let validation = self.validation(header.alg)?;
        if header.alg == Algorithm::HS256 {
            for key in &self.secrets {
                match decode(token, key, validation) {
                    Ok(claims) => return Ok(claims),
                    Err(None) => continue,
                    Err(Some(refused)) => return Err(refused),
                }
            }
            return Err(TokenDecodeError::Invalid);
        }
        let TokenSigner::KeyRing(ring) = &self.signer else {
            return Err(TokenDecodeError::Invalid);
        };
        let ring = ring.load();
        let kid = header.kid.as_deref().ok_or(TokenDecodeError::Invalid)?;
        let key = ring.verifying(kid).ok_or(TokenDecodeError::Invalid)?;
        if key.algorithm != header.alg {
            return Err(TokenDecodeError::Invalid);
        }
        decode(token, &key.key, validation).map_err(|e| e.unwrap_or(TokenDecodeError::Invalid))
    }
}

/// `Err(None)`: the signature does not match this key (another key may match).
fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<Claims, Option<TokenDecodeError>> {
    match jsonwebtoken::decode::<Claims>(token, key, validation) {
        Ok(data) => Ok(data.claims),
        Err(e) if *e.kind() == ErrorKind::InvalidSignature => Err(None),
        Err(e) if *e.kind() == ErrorKind::ExpiredSignature => Err(Some(TokenDecodeError::Expired)),
        Err(_) => Err(Some(TokenDecodeError::Invalid)),
    }
}

/// The `kid` of HS256 tokens: a digest of the secret, so an operator can tell which secret
/// signed a token without it saying anything about the secret.
fn secret_kid(secret: &SecretString) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"gatehouse hs256 kid\0");
    hasher.update(secret.expose_secret().as_bytes());
    URL_SAFE_NO_PAD.encode(&hasher.finalize()[..12])
}

impl TokenCodec for JwtCodec {
    fn encode(&self, claims: &TokenClaims) -> anyhow::Result<String> {
        let iat_ms = i64::try_from(claims.issued_at.unix_timestamp_nanos() / 1_000_000)
            .context("issue time out of range")?;
        let wire = Claims {
            sub: claims.subject.as_uuid(),
            jti: claims.token_id,
            typ: claims.kind.as_str().to_owned(),
            iat: claims.issued_at.unix_timestamp(),
            iat_ms,
            exp: claims.expires_at.unix_timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            fam: claims.family,
            dev: claims.device.map(|d| d.as_uuid()),
            stm: claims.stamp.get(),
            role: claims.grant.as_ref().map(|g| g.role.as_str().to_owned()),
            permissions: claims.grant.as_ref().map(|g| {
                g.permissions
                    .iter()
                    .map(|p| p.as_str().to_owned())
                    .collect()
            }),
            amr: claims
                .methods
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
        };
        match (&self.signer, &self.encoding_secret) {
            (TokenSigner::KeyRing(ring), _) => {
                let ring = ring.load();
                let signing = ring.signing().context("no current signing key is loaded")?;
                let mut header = Header::new(signing.algorithm);
                header.kid = Some(signing.kid.clone());
                jsonwebtoken::encode(&header, &wire, &signing.key)
            }
            (TokenSigner::Secret(_), Some(key)) => {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = self.secret_kid.clone();
                jsonwebtoken::encode(&header, &wire, key)
            }
            (TokenSigner::Secret(_), None) => anyhow::bail!("no signing secret"),
        }
        .context("token signing failed")
    }

    fn decode(&self, token: &str, expected: TokenKind) -> Result<TokenClaims, TokenDecodeError> {
        let claims = self.verified_claims(token)?;
        if claims.typ != expected.as_str()
            || (expected == TokenKind::Refresh) != claims.fam.is_some()
        {
            return Err(TokenDecodeError::Invalid);
        }
        let instant = |nanos: i128| {
            OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| TokenDecodeError::Invalid)
        };
        Ok(TokenClaims {
            subject: UserId::from_uuid(claims.sub),
            token_id: claims.jti,
            kind: expected,
            family: claims.fam,
            device: claims.dev.map(DeviceId::from_uuid),
            issued_at: instant(i128::from(claims.iat_ms) * 1_000_000)?,
            expires_at: instant(i128::from(claims.exp) * 1_000_000_000)?,
            stamp: SecurityStamp::new(claims.stm),
            methods: claims
                .amr
                .iter()
                .map(|m| m.parse::<AuthMethod>())
                .collect::<Result<_, _>>()
                .map_err(|_| TokenDecodeError::Invalid)?,
            grant: grant(claims.role.as_deref(), claims.permissions.as_deref())?,
        })
    }
}

/// The grant an access token carries, if any; a role or permission this release does not
/// know makes the token invalid rather than quietly less.
fn grant(
    role: Option<&str>,
    permissions: Option<&[String]>,
) -> Result<Option<AccessGrant>, TokenDecodeError> {
    let Some(role) = role else {
        return Ok(None);
    };
    let role: Role = role.parse().map_err(|_| TokenDecodeError::Invalid)?;
    let permissions = permissions
        .unwrap_or_default()
        .iter()
        .map(|p| p.parse::<Permission>())
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|_| TokenDecodeError::Invalid)?;
    Ok(Some(AccessGrant { role, permissions }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use time::Duration;

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings {
            signer: TokenSigner::Secret(secret.to_owned().into()),
            verify_only: Vec::new(),
            issuer: "gatehouse".into(),
            audience: "gatehouse-api".into(),
        }
    }

    fn rotating(secret: &str, verify_only: &str) -> JwtCodec {
        JwtCodec::new(&JwtSettings {
            verify_only: vec![verify_only.to_owned().into()],
            ..settings(secret)
        })
    }

    const OLD: &str = "old-secret-0123456789-0123456789";
    const NEW: &str = "new-secret-0123456789-0123456789";

    /// The three steps of a rotation: every instance learns the new key, then signs with
    /// it, then forgets the old one. Tokens keep working through the first two.
    #[test]
    fn a_key_rotation_keeps_tokens_valid_until_the_old_key_is_dropped() {
        let original = claims(TokenKind::Access, Duration::minutes(5));
        let by_old = JwtCodec::new(&settings(OLD)).encode(&original).unwrap();
        let learned = rotating(OLD, NEW);
        let switched = rotating(NEW, OLD);
        let by_new = switched.encode(&original).unwrap();
        for codec in [&learned, &switched] {
            for token in [&by_old, &by_new] {
                let decoded = codec.decode(token, TokenKind::Access).unwrap();
                assert_eq!(decoded.subject, original.subject);
            }
        }
        let finished = JwtCodec::new(&settings(NEW));
        assert!(finished.decode(&by_new, TokenKind::Access).is_ok());
        assert_eq!(
            finished.decode(&by_old, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
        // A verify-only key never signs: what the first step signs, only the old key opens.
        let by_learned = learned.encode(&original).unwrap();
        assert!(
            JwtCodec::new(&settings(OLD))
                .decode(&by_learned, TokenKind::Access)
                .is_ok()
        );
        assert_eq!(
            finished.decode(&by_learned, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
    }

    #[test]
    fn an_expired_token_under_a_verify_only_key_is_expired() {
        let stale = JwtCodec::new(&settings(OLD))
            .encode(&claims(TokenKind::Access, Duration::seconds(-10)))
            .unwrap();
        assert_eq!(
            rotating(NEW, OLD).decode(&stale, TokenKind::Access),
            Err(TokenDecodeError::Expired)
        );
    }

    fn claims(kind: TokenKind, lifetime: Duration) -> TokenClaims {
        let now = OffsetDateTime::now_utc();
        TokenClaims {
            subject: UserId::generate(),
            token_id: Uuid::new_v4(),
            kind,
            family: (kind == TokenKind::Refresh).then(Uuid::new_v4),
            device: Some(DeviceId::generate()),
            issued_at: now,
            expires_at: now + lifetime,
            stamp: SecurityStamp::new(41),
            methods: vec![AuthMethod::Password, AuthMethod::Otp],
            grant: (kind == TokenKind::Access).then(|| AccessGrant {
                role: Role::Admin,
                permissions: BTreeSet::from([Permission::CanViewUsers]),
            }),
        }
    }

    fn codec() -> JwtCodec {
        JwtCodec::new(&settings("test-secret-0123456789-0123456789"))
    }

    #[test]
    fn round_trips_with_millisecond_issue_time() {
        let original = claims(TokenKind::Refresh, Duration::minutes(5));
        let token = codec().encode(&original).unwrap();
        let decoded = codec().decode(&token, TokenKind::Refresh).unwrap();
        assert_eq!(decoded.subject, original.subject);
        assert_eq!(decoded.family, original.family);
        assert_eq!(decoded.device, original.device);
        assert_eq!(decoded.stamp, original.stamp);
        assert_eq!(decoded.methods, original.methods);
        assert_eq!(decoded.grant, None);
        let access = claims(TokenKind::Access, Duration::minutes(5));
        let decoded_access = codec()
            .decode(&codec().encode(&access).unwrap(), TokenKind::Access)
            .unwrap();
        assert_eq!(decoded_access.grant, access.grant);
        assert_eq!(decoded_access.methods, access.methods);
        let drift = (decoded.issued_at - original.issued_at).abs();
        assert!(drift < Duration::milliseconds(1), "{drift}");
    }

    /// Tokens issued before stamps existed carry none: they read as the first stamp, which
    /// the first sign-out everywhere (or password change) leaves behind.
    #[test]
    fn a_token_without_a_stamp_reads_as_the_first_one() {
        let key = "test-secret-0123456789-0123456789";
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let legacy = serde_json::json!({
            "sub": Uuid::new_v4(), "jti": Uuid::new_v4(), "typ": "access",
            "iat": now, "iat_ms": now * 1000, "exp": now + 60,
            "iss": "gatehouse", "aud": "gatehouse-api",
        });
        let token = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &legacy,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap();
        let decoded = codec().decode(&token, TokenKind::Access).unwrap();
        assert_eq!(decoded.stamp, SecurityStamp::INITIAL);
    }

    #[test]
    fn a_token_is_only_accepted_as_its_own_kind() {
        let access = codec()
            .encode(&claims(TokenKind::Access, Duration::minutes(5)))
            .unwrap();
        let refresh = codec()
            .encode(&claims(TokenKind::Refresh, Duration::minutes(5)))
            .unwrap();
        assert_eq!(
            codec().decode(&access, TokenKind::Refresh),
            Err(TokenDecodeError::Invalid)
        );
        assert_eq!(
            codec().decode(&refresh, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
    }

    #[test]
    fn expired_is_told_apart_from_invalid() {
        let token = codec()
            .encode(&claims(TokenKind::Access, Duration::seconds(-10)))
            .unwrap();
        assert_eq!(
            codec().decode(&token, TokenKind::Access),
            Err(TokenDecodeError::Expired)
        );
    }

    #[test]
    fn another_key_issuer_or_audience_is_refused() {
        let original = claims(TokenKind::Access, Duration::minutes(5));
        let foreign = JwtCodec::new(&settings("another-secret-0123456789-012345"))
            .encode(&original)
            .unwrap();
        assert_eq!(
            codec().decode(&foreign, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
        let mut other = settings("test-secret-0123456789-0123456789");
        other.audience = "someone-else".into();
        let token = JwtCodec::new(&other).encode(&original).unwrap();
        assert_eq!(
            codec().decode(&token, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
    }

    #[test]
    fn alg_none_and_tampered_payloads_are_refused() {
        let token = codec()
            .encode(&claims(TokenKind::Access, Duration::minutes(5)))
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert_eq!(
            codec().decode(&unsigned, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
        let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        let swapped = format!("{hs512}.{}.{}", parts[1], parts[2]);
        assert_eq!(
            codec().decode(&swapped, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
        let mut payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        let last = payload.len() - 2;
        payload[last] ^= 1;
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload),
            parts[2]
        );
        assert_eq!(
            codec().decode(&tampered, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
        assert_eq!(
            codec().decode("garbage", TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
    }
}
