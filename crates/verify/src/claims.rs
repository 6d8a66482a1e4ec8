use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::VerifyError;

/// What a verified access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The user (`sub`).
    pub subject: Uuid,
    /// This token's id (`jti`): what Gatehouse denies when it revokes one token.
    pub token_id: Uuid,
    /// The user's role when the token was issued, e.g. `user` or `admin`.
    pub role: String,
    /// The user's permissions when the token was issued, e.g. `can_view_users`.
    pub permissions: Vec<String>,
    /// How the user signed in (`amr`, RFC 8176), e.g. `["pwd"]`.
    pub amr: Vec<String>,
    /// When the token was issued, to the millisecond (`iat_ms`): revocations compare it
    /// with the instant they were made, which a whole-second `iat` cannot do.
    pub issued_at: OffsetDateTime,
    /// When the token expires (`exp`).
    pub expires_at: OffsetDateTime,
    /// Who issued it (`iss`), as checked.
    pub issuer: String,
    /// Whom it is for (`aud`), as checked.
    pub audience: String,
    /// The device the user signed in on (`dev`), if Gatehouse tracks one.
    pub device: Option<Uuid>,
    /// The user's security stamp when the token was issued (`stm`); a sign-out everywhere
    /// raises the user's floor above it.
    pub stamp: u64,
}

impl Claims {
    /// Whether the token grants `permission`. Permissions are what Gatehouse granted at
    /// sign-in: a change takes effect with the user's next token.
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// Whether the user was an administrator (`role` is `admin`) when the token was issued.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// The payload exactly as Gatehouse writes it.
#[derive(Debug, Deserialize)]
pub(crate) struct WireClaims {
    sub: Uuid,
    jti: Uuid,
    typ: String,
    iat_ms: i64,
    exp: i64,
    iss: String,
    aud: String,
    /// Refresh tokens only: an access token carrying a family is not an access token.
    #[serde(default)]
    fam: Option<Uuid>,
    #[serde(default)]
    dev: Option<Uuid>,
    /// Tokens from before stamps existed carry none: they read as the first stamp, as in
    /// Gatehouse.
    #[serde(default)]
    stm: u64,
    /// Required: authorization decisions rest on it, and no default would be right.
    role: String,
    /// A missing list grants nothing, which is what its absence can only mean.
    #[serde(default)]
    permissions: Vec<String>,
    #[serde(default)]
    amr: Vec<String>,
}

impl WireClaims {
    /// The claims of an access token; anything else (a refresh token, a time out of range)
    /// is invalid.
    pub(crate) fn into_access_claims(self) -> Result<Claims, VerifyError> {
        if self.typ != "access" || self.fam.is_some() {
            tracing::debug!(typ = %self.typ, "not an access token");
            return Err(VerifyError::Invalid);
        }
        let issued_at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.iat_ms) * 1_000_000)
                .map_err(|_| VerifyError::Invalid)?;
        let expires_at =
            OffsetDateTime::from_unix_timestamp(self.exp).map_err(|_| VerifyError::Invalid)?;
        Ok(Claims {
            subject: self.sub,
            token_id: self.jti,
            role: self.role,
            permissions: self.permissions,
            amr: self.amr,
            issued_at,
            expires_at,
            issuer: self.iss,
            audience: self.aud,
            device: self.dev,
            stamp: self.stm,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(overrides: serde_json::Value) -> Result<Claims, VerifyError> {
        let mut payload = json!({
            "sub": Uuid::new_v4(), "jti": Uuid::new_v4(), "typ": "access",
            "iat": 1_700_000_000, "iat_ms": 1_700_000_000_123_i64, "exp": 1_700_000_900,
            "iss": "gatehouse", "aud": "api", "role": "user",
        });
        for (key, value) in overrides.as_object().into_iter().flatten() {
            payload[key] = value.clone();
        }
        serde_json::from_value::<WireClaims>(payload)
            .map_err(|_| VerifyError::Invalid)?
            .into_access_claims()
    }

    #[test]
    fn optional_claims_default_and_the_issue_time_keeps_its_milliseconds() {
        let claims = wire(json!({})).unwrap();
        assert_eq!(claims.stamp, 0);
        assert!(claims.permissions.is_empty() && claims.amr.is_empty());
        assert_eq!(claims.device, None);
        assert_eq!(claims.issued_at.millisecond(), 123);
        assert!(!claims.is_admin());
    }

    #[test]
    fn refresh_tokens_missing_roles_and_absurd_times_are_invalid() {
        assert_eq!(wire(json!({"typ": "refresh"})), Err(VerifyError::Invalid));
        assert_eq!(
            wire(json!({"fam": Uuid::new_v4()})),
            Err(VerifyError::Invalid)
        );
        assert_eq!(wire(json!({"role": null})), Err(VerifyError::Invalid));
        assert_eq!(wire(json!({"sub": "ada"})), Err(VerifyError::Invalid));
        assert_eq!(wire(json!({"exp": i64::MAX})), Err(VerifyError::Invalid));
        assert_eq!(wire(json!({"iat_ms": i64::MIN})), Err(VerifyError::Invalid));
    }

    #[test]
    fn permissions_and_admin_are_read_exactly() {
        let claims = wire(json!({"role": "admin", "permissions": ["can_view_users"]})).unwrap();
        assert!(claims.is_admin());
        assert!(claims.has_permission("can_view_users"));
        assert!(!claims.has_permission("can_view"));
        let claims = wire(json!({"role": "Admin"})).unwrap();
        assert!(!claims.is_admin());
    }
}
