/// Why a token was not accepted. Every variant but the two `...Unavailable` ones is the
/// token's fault (401); those two are ours (503): the caller may retry later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Malformed, forged, signed with an algorithm or key type not allowed, or for another
    /// issuer, audience or token type (a refresh token is not an access token). Which one is
    /// logged at `debug`, never told to the client.
    #[error("token is invalid")]
    Invalid,
    /// Well-formed and correctly signed, but past its `exp`.
    #[error("token has expired")]
    Expired,
    /// Signed by a key Gatehouse does not publish (any more), even after a refetch.
    #[error("token is signed by an unknown key")]
    UnknownKey,
    /// Revoked in Gatehouse: signed out (everywhere or on its device), or denied by id.
    #[error("token has been revoked")]
    Revoked,
    /// The key set could not be fetched and no cached key fits the token.
    #[error("the signing keys are unavailable: {0}")]
    KeysUnavailable(String),
    /// Revocations could not be read; the token is refused (fail closed).
    #[error("revocations are unavailable: {0}")]
    RevocationUnavailable(String),
}

impl VerifyError {
    /// Gatehouse's error code for this outcome (`token_invalid`, `token_expired` or
    /// `service_unavailable`), so that a service answers as Gatehouse itself would.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid | Self::UnknownKey | Self::Revoked => "token_invalid",
            Self::Expired => "token_expired",
            Self::KeysUnavailable(_) | Self::RevocationUnavailable(_) => "service_unavailable",
        }
    }

    /// The HTTP status Gatehouse answers with for this outcome: 401, or 503 when the
    /// failure is ours rather than the token's.
    pub fn http_status(&self) -> u16 {
        if self.is_unavailable() { 503 } else { 401 }
    }

    /// Whether the token could not be checked (rather than was found bad): worth a retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::KeysUnavailable(_) | Self::RevocationUnavailable(_)
        )
    }

    /// What a client may be told, as Gatehouse words it. Unlike `Display`, it leaves out the
    /// cause of an `...Unavailable` variant, which belongs in logs, not in responses.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Invalid | Self::UnknownKey | Self::Revoked => "token is invalid",
            Self::Expired => "token has expired",
            Self::KeysUnavailable(_) | Self::RevocationUnavailable(_) => {
                "a required service is unavailable"
            }
        }
    }
}

/// A verifier (or revocation store) that cannot be built as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_match_gatehouse() {
        assert_eq!(VerifyError::Invalid.code(), "token_invalid");
        assert_eq!(VerifyError::UnknownKey.code(), "token_invalid");
        assert_eq!(VerifyError::Revoked.code(), "token_invalid");
        assert_eq!(VerifyError::Expired.code(), "token_expired");
        let down = VerifyError::KeysUnavailable("connection refused".into());
        assert_eq!(down.code(), "service_unavailable");
        assert_eq!(down.http_status(), 503);
        assert!(!down.public_message().contains("refused"));
        assert_eq!(VerifyError::Expired.http_status(), 401);
        assert_eq!(
            VerifyError::RevocationUnavailable(String::new()).http_status(),
            503
        );
    }
}
