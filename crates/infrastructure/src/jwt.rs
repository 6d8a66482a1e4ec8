//! Signed JWTs: asymmetric keys from the [`KeyRing`] (EdDSA by default, found by `kid`), or
//! the legacy HS256 shared secret.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_application::ports::{
    AccessGrant, TokenClaims, TokenCodec, TokenDecodeError, TokenKind,
};
use gatehouse_domain::{DeviceId, Permission, Role, SecurityStamp, UserId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::clock::unix_ms;
use crate::signing::KeyRing;

/// Who signs tokens and for whom.
#[derive(Clone)]
pub struct JwtSettings {
    /// The loaded key pairs: each published key verifies the tokens whose `kid` names it;
    /// unless `secret` is set, the current one signs every new token.
    pub key_ring: Arc<ArcSwap<KeyRing>>,
    /// `GATEHOUSE_JWT_ALGORITHM=HS256` (legacy): this secret signs every new token.
    pub secret: Option<SecretString>,
    /// HS256 secrets that only verify, tried after a signing secret: during a secret
    /// rotation, the next secret (before it signs anywhere) or the previous one (until the
    /// tokens it signed have expired); after the move to key pairs, the old secret.
    pub verify_only: Vec<SecretString>,
    /// With key pairs signing: signs HS256 while no key pair is current yet (a move from
    /// HS256 whose prepared key has not been published long enough to sign).
    pub interim_secret: Option<SecretString>,
    /// With key pairs signing: the HS256 tokens of `verify_only` secrets still verify if
    /// they were issued at most this long after the first key pair started to sign (the
    /// time every instance takes to notice it: one JWKS max-age and clock skew), and...
    pub hs256_notice: Duration,
    /// ...expire at most one access-token lifetime (access tokens) or one refresh-token
    /// lifetime (refresh tokens), skew included, after that. Nothing the old secret signs
    /// outlives the move by more; zero (the default): no HS256 token verifies.
    pub hs256_lifetimes: TokenLifetimes,
    /// `iss` claim, checked on decode.
    pub issuer: String,
    /// `aud` claim, checked on decode.
    pub audience: String,
}

/// How long each kind of token lives.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenLifetimes {
    /// Access tokens.
    pub access: Duration,
    /// Refresh tokens.
    pub refresh: Duration,
}

impl JwtSettings {
    /// Key pairs from `key_ring` sign; no HS256 token verifies.
    pub fn key_pairs(key_ring: Arc<ArcSwap<KeyRing>>, issuer: &str, audience: &str) -> Self {
        Self {
            key_ring,
            secret: None,
            interim_secret: None,
            verify_only: Vec::new(),
            hs256_notice: Duration::ZERO,
            hs256_lifetimes: TokenLifetimes::default(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// `secret` signs (HS256); no key pair is loaded.
    pub fn hs256(secret: SecretString, issuer: &str, audience: &str) -> Self {
        Self {
            secret: Some(secret),
            ..Self::key_pairs(Arc::default(), issuer, audience)
        }
    }
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("signs_with_secret", &self.secret.is_some())
            .field("verify_only", &self.verify_only.len())
            .field("hs256_notice", &self.hs256_notice)
            .field("hs256_lifetimes", &self.hs256_lifetimes)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// When the sign-in the token descends from happened (OpenID Connect's `auth_time`).
    /// A token without it (issued before it was carried, or rotated by such a release) reads
    /// as signed in long ago: its `iat` may be a rotation's, never proof of a recent sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
}

/// The `iss` of every HS256 token issued before `GATEHOUSE_JWT_ISSUER` existed: still
/// accepted on HS256 tokens so that an upgrade signs no one out. Remove in the release after
/// next, when the last of them has expired.
const LEGACY_ISSUER: &str = "gatehouse";

/// The algorithms a key ring's keys may have.
const ASYMMETRIC: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

/// JWTs signed by the current key pair or by an HS256 secret. A token is verified only by a
/// key that exists for its header: an asymmetric `alg` by the published key its `kid` names,
/// with exactly that key's algorithm; `HS256` by a configured secret (and, once key pairs
/// sign, only within the grace period); `none` and everything else never.
pub struct JwtCodec {
    key_ring: Arc<ArcSwap<KeyRing>>,
    /// The `kid` HS256 tokens carry (a digest of the secret; it finds nothing, it says which).
    secret_kid: Option<String>,
    /// The signing secret's, then the verify-only secrets'.
    secrets: Vec<DecodingKey>,
    encoding_secret: Option<EncodingKey>,
    /// Signs while no key pair is current (see [`JwtSettings::interim_secret`]).
    interim: Option<(EncodingKey, String)>,
    hs256_notice: Duration,
    hs256_lifetimes: TokenLifetimes,
    /// Key-pair tokens whose signature was checked already (see [`VerifiedTokens`]).
    verified: VerifiedTokens,
    /// One validation per algorithm, each accepting that algorithm alone.
    validations: Vec<(Algorithm, Validation)>,
    issuer: String,
    audience: String,
}

impl JwtCodec {
    /// A codec with these keys and names.
    pub fn new(settings: &JwtSettings) -> Self {
        let signing_secret = settings.secret.as_ref();
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
            key_ring: settings.key_ring.clone(),
            secret_kid: signing_secret.map(secret_kid),
            secrets: signing_secret
                .into_iter()
                .chain(&settings.verify_only)
                .map(|secret| DecodingKey::from_secret(secret.expose_secret().as_bytes()))
                .collect(),
            encoding_secret: signing_secret
                .map(|secret| EncodingKey::from_secret(secret.expose_secret().as_bytes())),
            interim: settings.interim_secret.as_ref().map(|secret| {
                (
                    EncodingKey::from_secret(secret.expose_secret().as_bytes()),
                    secret_kid(secret),
                )
            }),
            hs256_notice: settings.hs256_notice,
            hs256_lifetimes: settings.hs256_lifetimes,
            verified: VerifiedTokens::default(),
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
            let claims = self.hs256_claims(token, validation)?;
            return self.within_hs256_grace(claims);
        }
        let ring = self.key_ring.load();
        let kid = header.kid.as_deref().ok_or(TokenDecodeError::Invalid)?;
        let key = ring.verifying(kid).ok_or(TokenDecodeError::Invalid)?;
        if key.algorithm != header.alg {
            return Err(TokenDecodeError::Invalid);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.verified.get(&digest, kid) {
            return Ok(claims);
        }
        let claims = decode(token, &key.key, validation)
            .map_err(|e| e.unwrap_or(TokenDecodeError::Invalid))?;
        self.verified.insert(digest, kid, &claims);
        Ok(claims)
    }

    fn hs256_claims(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<Claims, TokenDecodeError> {
        for key in &self.secrets {
            match decode(token, key, validation) {
                Ok(claims) => return Ok(claims),
                Err(None) => continue,
                Err(Some(refused)) => return Err(refused),
            }
        }
        Err(TokenDecodeError::Invalid)
    }

    /// With HS256 configured, every HS256 token its secrets verify. With key pairs, only
    /// one issued before every instance noticed the first key pair signing, and expiring
    /// within its kind's lifetime of that: whoever still holds the old secret cannot mint a
    /// token that outlives the move.
    fn within_hs256_grace(&self, claims: Claims) -> Result<Claims, TokenDecodeError> {
        if self.encoding_secret.is_some() {
            return Ok(claims);
        }
        let Some(since) = self.key_ring.load().pairs_since() else {
            // No key pair has signed yet: HS256 is still what signs (the interim secret).
            return Ok(claims);
        };
        let lifetime = if claims.typ == TokenKind::Refresh.as_str() {
            self.hs256_lifetimes.refresh
        } else {
            self.hs256_lifetimes.access
        };
        let cutoff = since.checked_add(self.hs256_notice.try_into().unwrap_or(time::Duration::MAX));
        let until = cutoff.and_then(|c| c.checked_add(lifetime.try_into().ok()?));
        let (Some(cutoff), Some(until)) = (cutoff, until) else {
            return Err(TokenDecodeError::Invalid);
        };
        // `exp` is checked against now already: a token expiring within the grace period is
        // refused once the period is over.
        let issued_before = i128::from(claims.iat_ms) <= unix_ms(cutoff);
        let expires_in_time = claims.exp <= until.unix_timestamp();
        let lives_no_longer = claims.exp.saturating_sub(claims.iat)
            <= i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX);
        if issued_before && expires_in_time && lives_no_longer {
            Ok(claims)
        } else {
            Err(TokenDecodeError::Invalid)
        }
    }
}

/// Key-pair tokens already verified, by the SHA-256 of the whole token: a client presents
/// the same access token on every request for its 15 minutes, and an Ed25519 check costs
/// ten times an HMAC. A hit needs the exact bytes that verified, its key still published
/// (a removed key's tokens stop at once) and its `exp` still ahead; everything else about
/// the token (issuer, audience, algorithm) was checked once and cannot change. Bounded:
/// when full, expired entries go, and if that leaves it three-quarters full, all of them.
#[derive(Default)]
struct VerifiedTokens {
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], (String, Claims)>>,
}

/// About 3 MB of entries at most.
const VERIFIED_TOKENS: usize = 10_000;

impl VerifiedTokens {
    fn get(&self, digest: &[u8; 32], kid: &str) -> Option<Claims> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (signed_by, claims) = entries.get(digest)?;
        let live = claims.exp > OffsetDateTime::now_utc().unix_timestamp();
        (signed_by == kid && live).then(|| claims.clone())
    }

    fn insert(&self, digest: [u8; 32], kid: &str, claims: &Claims) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= VERIFIED_TOKENS {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            entries.retain(|_, (_, claims)| claims.exp > now);
            // Room for a quarter more before the next sweep, or a sweep on every insert.
            if entries.len() >= VERIFIED_TOKENS * 3 / 4 {
                entries.clear();
            }
        }
        entries.insert(digest, (kid.to_owned(), claims.clone()));
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
        let iat_ms = i64::try_from(unix_ms(claims.issued_at)).context("issue time out of range")?;
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
            auth_time: Some(claims.authenticated_at.unix_timestamp()),
        };
        // A current key pair signs, whatever the mode: an instance still configured HS256
        // in a fleet moving to key pairs follows the first one that signs with it (every
        // instance loaded that key before it could sign). Otherwise the HS256 secret does
        // (configured, or the interim one of a move).
        let ring = self.key_ring.load();
        let secret = match (&self.encoding_secret, &self.interim) {
            (Some(key), _) => self.secret_kid.clone().map(|kid| (key, kid)),
            (None, Some((key, kid))) => Some((key, kid.clone())),
            (None, None) => None,
        };
        match (ring.signing(), secret) {
            (Some(signing), _) => {
                let mut header = Header::new(signing.algorithm);
                header.kid = Some(signing.kid.clone());
                jsonwebtoken::encode(&header, &wire, &signing.key)
            }
            (None, Some((key, kid))) => {
                let mut header = Header::new(Algorithm::HS256);
                header.kid = Some(kid);
                jsonwebtoken::encode(&header, &wire, key)
            }
            (None, None) => anyhow::bail!("no current signing key is loaded"),
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
            authenticated_at: match claims.auth_time {
                Some(seconds) => instant(i128::from(seconds) * 1_000_000_000)?,
                None => OffsetDateTime::UNIX_EPOCH,
            },
            expires_at: instant(i128::from(claims.exp) * 1_000_000_000)?,
            stamp: SecurityStamp::new(claims.stm),
            // A method or grant a later release added is left out, not refused: during a
            // rollout (or after a rollback) this release must not sign its users out.
            methods: claims.amr.iter().filter_map(|m| m.parse().ok()).collect(),
            grant: grant(claims.role.as_deref(), claims.permissions.as_deref()),
        })
    }
}

/// The grant an access token carries, if any. Gatehouse reads the account, never the
/// grant, so what this release does not know is left out: an unknown role gives no grant,
/// an unknown permission is skipped.
fn grant(role: Option<&str>, permissions: Option<&[String]>) -> Option<AccessGrant> {
    let role: Role = role?.parse().ok()?;
    let permissions = permissions
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p.parse::<Permission>().ok())
        .collect();
    Some(AccessGrant { role, permissions })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use std::collections::BTreeSet;

    use gatehouse_domain::AuthMethod;
    use time::Duration;

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings::hs256(secret.to_owned().into(), "gatehouse", "gatehouse-api")
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

    /// A ring with no key, in which key pairs started signing at `since`.
    fn ring_since(since: Option<OffsetDateTime>) -> Arc<ArcSwap<KeyRing>> {
        use crate::signing::{MASTER_KEY_BYTES, MasterKey, MasterKeys};
        let master = MasterKeys {
            current: MasterKey::from_bytes(&vec![1u8; MASTER_KEY_BYTES].into()).unwrap(),
            previous: None,
        };
        Arc::new(ArcSwap::from_pointee(
            KeyRing::load(&[], since, &master).unwrap(),
        ))
    }

    fn issued(at: OffsetDateTime, lifetime: Duration) -> TokenClaims {
        TokenClaims {
            issued_at: at,
            authenticated_at: at,
            expires_at: at + lifetime,
            ..claims(TokenKind::Access, lifetime)
        }
    }

    /// After the move to key pairs, the old secret verifies only tokens issued before every
    /// instance noticed the first key pair signing, living no longer than their kind does
    /// and expiring within that of the move: it cannot mint new ones.
    #[test]
    fn after_the_move_hs256_verifies_only_tokens_from_before_within_the_grace() {
        let now = OffsetDateTime::now_utc();
        let since = now - Duration::minutes(2);
        let moved = JwtCodec::new(&JwtSettings {
            verify_only: vec![OLD.to_owned().into()],
            hs256_notice: std::time::Duration::from_secs(60),
            hs256_lifetimes: TokenLifetimes {
                access: std::time::Duration::from_secs(600),
                refresh: std::time::Duration::from_secs(3600),
            },
            ..JwtSettings::key_pairs(ring_since(Some(since)), "gatehouse", "gatehouse-api")
        });
        let old = JwtCodec::new(&settings(OLD));
        let sign = |claims: &TokenClaims| old.encode(claims).unwrap();
        // Issued just before the move, or by an instance that had not noticed it yet.
        for issued_at in [since - Duration::minutes(1), since + Duration::seconds(50)] {
            let token = sign(&issued(issued_at, Duration::minutes(5)));
            assert!(moved.decode(&token, TokenKind::Access).is_ok());
        }
        let refresh = TokenClaims {
            kind: TokenKind::Refresh,
            family: Some(Uuid::new_v4()),
            grant: None,
            ..issued(since - Duration::minutes(1), Duration::minutes(50))
        };
        assert!(moved.decode(&sign(&refresh), TokenKind::Refresh).is_ok());
        for forged in [
            // Issued after every instance noticed the move.
            sign(&issued(now, Duration::minutes(5))),
            // Backdated, living longer than access tokens do.
            sign(&issued(since - Duration::minutes(1), Duration::minutes(30))),
        ] {
            assert_eq!(
                moved.decode(&forged, TokenKind::Access),
                Err(TokenDecodeError::Invalid)
            );
        }
        // Before any key pair signed, the secret signs in the interim and its tokens verify.
        let interim = JwtCodec::new(&JwtSettings {
            interim_secret: Some(OLD.to_owned().into()),
            verify_only: vec![OLD.to_owned().into()],
            ..JwtSettings::key_pairs(ring_since(None), "gatehouse", "gatehouse-api")
        });
        let token = interim
            .encode(&claims(TokenKind::Access, Duration::minutes(5)))
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::HS256);
        assert!(header.kid.is_some());
        assert!(interim.decode(&token, TokenKind::Access).is_ok());
        assert!(old.decode(&token, TokenKind::Access).is_ok());
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
            authenticated_at: now,
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
        // Nor `auth_time`: its sign-in reads as long ago, never as recent as its `iat`.
        assert_eq!(decoded.authenticated_at, OffsetDateTime::UNIX_EPOCH);
    }

    /// A later release's role, permission or method does not make the token invalid here.
    #[test]
    fn unknown_grants_and_methods_are_left_out_not_refused() {
        let key = "test-secret-0123456789-0123456789";
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let wire = |role: &str| {
            serde_json::json!({
                "sub": Uuid::new_v4(), "jti": Uuid::new_v4(), "typ": "access",
                "iat": now, "iat_ms": now * 1000, "exp": now + 60,
                "iss": "gatehouse", "aud": "gatehouse-api", "role": role,
                "permissions": ["can_view_users", "can_fly"], "amr": ["pwd", "retina"],
            })
        };
        let sign = |claims: &serde_json::Value| {
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                claims,
                &EncodingKey::from_secret(key.as_bytes()),
            )
            .unwrap()
        };
        let decoded = codec()
            .decode(&sign(&wire("admin")), TokenKind::Access)
            .unwrap();
        assert_eq!(decoded.methods, [AuthMethod::Password]);
        assert_eq!(
            decoded.grant,
            Some(AccessGrant {
                role: Role::Admin,
                permissions: BTreeSet::from([Permission::CanViewUsers]),
            })
        );
        let decoded = codec()
            .decode(&sign(&wire("auditor")), TokenKind::Access)
            .unwrap();
        assert_eq!(decoded.grant, None);
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
