use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::error::ConfigError;

/// Where Gatehouse's keys are and what a token must say to be accepted here.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The JWKS document, e.g. `https://auth.example.com/.well-known/jwks.json`.
    pub jwks_url: String,
    /// The `iss` every token must carry: Gatehouse's configured issuer.
    pub issuer: String,
    /// The `aud` every token must carry: the audience Gatehouse issues tokens for.
    pub audience: String,
    /// The signature algorithms accepted; a token or key of any other is refused. Only
    /// asymmetric ones may appear: a symmetric (`HS*`) algorithm would let anyone holding
    /// the public key sign (key confusion), so [`crate::Verifier::new`] refuses them.
    pub algorithms: Vec<Algorithm>,
    /// The shortest time between two fetches of the key set, whatever asks for them (an
    /// unknown `kid`, an expired cache, a failed fetch): tokens with made-up `kid`s cannot
    /// turn into a flood of requests to Gatehouse.
    pub min_refetch_interval: Duration,
    /// How long a key set is fresh when its response carries no `Cache-Control: max-age`.
    pub fallback_max_age: Duration,
    /// How long one JWKS request may take (connecting included) before it counts as failed.
    pub http_timeout: Duration,
    /// How long past its freshness a cached key set goes on verifying while Gatehouse
    /// cannot be reached; after that, tokens are refused as unavailable (503). A key
    /// Gatehouse withdrew (after a leak) must not verify for ever because fetches fail.
    pub max_stale: Duration,
    /// Accept a plain `http://` JWKS URL to another host. Off: anyone on the path could
    /// hand this service keys of their own, and with them any token. Loopback addresses are
    /// allowed without it.
    pub allow_insecure_http: bool,
}

impl VerifierConfig {
    /// The algorithms Gatehouse signs with.
    pub const DEFAULT_ALGORITHMS: [Algorithm; 3] =
        [Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256];

    /// Verifies tokens from the Gatehouse at `gatehouse_base_url` (its JWKS is
    /// `{base}/.well-known/jwks.json`) with the given issuer and audience, and the defaults:
    /// the three algorithms Gatehouse signs with, a refetch at most every 5 s, 300 s of
    /// freshness without `Cache-Control`, 5 s per request, an hour of stale keys while
    /// Gatehouse is unreachable, `https` (or loopback) only.
    pub fn new(
        gatehouse_base_url: impl AsRef<str>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        let base = gatehouse_base_url.as_ref().trim_end_matches('/');
        Self {
            jwks_url: format!("{base}/.well-known/jwks.json"),
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: Self::DEFAULT_ALGORITHMS.to_vec(),
            min_refetch_interval: Duration::from_secs(5),
            fallback_max_age: Duration::from_secs(300),
            http_timeout: Duration::from_secs(5),
            max_stale: Duration::from_secs(3600),
            allow_insecure_http: false,
        }
    }

    /// Refuses a configuration that could only fail later, or that would accept forgeries.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(ConfigError::new("issuer and audience must not be empty"));
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::new("at least one algorithm must be allowed"));
        }
        if let Some(symmetric) = self.algorithms.iter().find(|alg| !is_asymmetric(**alg)) {
            return Err(ConfigError::new(format!(
                "{symmetric:?} is symmetric: a key published in a JWKS must never verify it"
            )));
        }
        Ok(())
    }
}

/// The signature algorithms whose verification key is public.
pub(crate) fn is_asymmetric(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::EdDSA
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jwks_url_is_under_the_base_url_with_or_without_a_slash() {
        for base in ["https://auth.example.com", "https://auth.example.com/"] {
            let config = VerifierConfig::new(base, "gatehouse", "api");
            assert_eq!(
                config.jwks_url,
                "https://auth.example.com/.well-known/jwks.json"
            );
            assert!(config.check().is_ok());
        }
    }

    #[test]
    fn plain_http_is_for_loopback_unless_allowed() {
        for url in [
            "http://127.0.0.1:8000",
            "http://localhost:8000",
            "http://[::1]:8000",
            "https://auth.example.com",
        ] {
            assert!(
                crate::Verifier::new(VerifierConfig::new(url, "i", "a")).is_ok(),
                "{url}"
            );
        }
        let mut remote = VerifierConfig::new("http://auth.example.com", "i", "a");
        assert!(crate::Verifier::new(remote.clone()).is_err());
        remote.allow_insecure_http = true;
        assert!(crate::Verifier::new(remote).is_ok());
    }

    #[test]
    fn symmetric_algorithms_and_empty_names_are_refused() {
        let mut config = VerifierConfig::new("http://localhost", "gatehouse", "api");
        config.algorithms.push(Algorithm::HS256);
        assert!(config.check().is_err());
        config.algorithms.clear();
        assert!(config.check().is_err());
        let config = VerifierConfig::new("http://localhost", "", "api");
        assert!(config.check().is_err());
    }
}
