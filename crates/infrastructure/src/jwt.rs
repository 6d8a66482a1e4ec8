use anyhow::Context;
use gatehouse_application::ports::{TokenClaims, TokenCodec, TokenDecodeError, TokenKind};
use gatehouse_domain::{DeviceId, SecurityStamp, UserId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who signs tokens and for whom.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// The HS256 key: signs every new token, and verifies.
    pub secret: SecretString,
    /// Keys that only verify, tried after `secret`: during a rotation, the next key (before
    /// it signs anywhere) or the previous one (until the tokens it signed have expired).
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
}

/// HS256 JWTs. The algorithm is pinned: `none`, RS*, ES* and every other header are refused.
pub struct JwtCodec {
    encoding: EncodingKey,
    /// The signing key's, then the verify-only keys'.
    decoding: Vec<DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl JwtCodec {
    /// A codec with these keys and names.
    pub fn new(settings: &JwtSettings) -> Self {
        let key = settings.secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        // Instances share one clock source in practice; a leeway would only extend the life
        // of every token.
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: std::iter::once(&settings.secret)
                .chain(&settings.verify_only)
                .map(|secret| DecodingKey::from_secret(secret.expose_secret().as_bytes()))
                .collect(),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        }
    }

    /// The claims of a token whose signature one of the keys verifies. The signature is
    /// checked before anything else, so only a signature mismatch moves on to the next key:
    /// an expired token signed by a known key is expired, not "try another key".
    fn verified_claims(&self, token: &str) -> Result<Claims, TokenDecodeError> {
        for key in &self.decoding {
            match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) if *e.kind() == ErrorKind::InvalidSignature => continue,
                Err(e) if *e.kind() == ErrorKind::ExpiredSignature => {
                    return Err(TokenDecodeError::Expired);
                }
                Err(_) => return Err(TokenDecodeError::Invalid),
            }
        }
        Err(TokenDecodeError::Invalid)
    }
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
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &wire, &self.encoding)
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use time::Duration;

    fn settings(secret: &str) -> JwtSettings {
        JwtSettings {
            secret: secret.to_owned().into(),
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
