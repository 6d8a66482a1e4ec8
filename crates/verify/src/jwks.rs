//! Gatehouse's key set: fetching it, reading `Cache-Control`, and turning each JWK into a
//! key that verifies exactly one algorithm.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde::Deserialize;

use crate::config::{VerifierConfig, is_asymmetric};

/// The longest a key set is trusted without asking again, whatever `max-age` says: a key
/// Gatehouse withdraws (say, after a compromise) stops verifying within this.
const MAX_CACHE_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// A key set is a few keys; anything much larger is not Gatehouse's.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// One published key, ready to verify: the only algorithm it verifies (the JWK's, never
/// the token's say-so) and the checks every token must pass.
pub(crate) struct VerificationKey {
    pub(crate) algorithm: Algorithm,
    pub(crate) key: DecodingKey,
    pub(crate) validation: Validation,
}

/// The usable keys of one JWKS document, by `kid`.
pub(crate) type KeySet = HashMap<String, Arc<VerificationKey>>;

/// A fetched key set and how long it stays fresh.
pub(crate) struct Fetched {
    pub(crate) keys: KeySet,
    /// The response's `max-age` (or the fallback).
    pub(crate) max_age: Duration,
    /// How long a shared cache on the way had held the response already (`Age`): its
    /// freshness ended `age - max_age` ago when that is positive.
    pub(crate) age: Duration,
}

#[derive(Deserialize)]
struct Document {
    /// Kept raw: one key this crate cannot read must not hide the others.
    keys: Vec<serde_json::Value>,
}

/// Reads a JWKS document. A document that is not one is an error; a key in it that is not
/// usable here (another type, curve, algorithm or use, no `kid`) is skipped and logged.
pub(crate) fn parse(body: &[u8], config: &VerifierConfig) -> Result<KeySet, String> {
    let document: Document =
        serde_json::from_slice(body).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = KeySet::new();
    for value in document.keys {
        match load(value, config) {
            Ok((kid, key)) => {
                keys.insert(kid, Arc::new(key));
            }
            Err(reason) => tracing::debug!(reason, "JWKS key skipped"),
        }
    }
    Ok(keys)
}

fn load(
    value: serde_json::Value,
    config: &VerifierConfig,
) -> Result<(String, VerificationKey), String> {
    let jwk: Jwk = serde_json::from_value(value).map_err(|e| format!("not a JWK: {e}"))?;
    let kid = jwk.common.key_id.clone().ok_or("no kid")?;
    if let Some(key_use) = &jwk.common.public_key_use
        && *key_use != PublicKeyUse::Signature
    {
        return Err(format!("{kid}: not a signing key"));
    }
    let algorithm = algorithm_of(&jwk).ok_or_else(|| format!("{kid}: unsupported key"))?;
    if !is_asymmetric(algorithm) || !config.algorithms.contains(&algorithm) {
        return Err(format!("{kid}: {algorithm:?} is not allowed"));
    }
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| format!("{kid}: {e}"))?;
    if !has_key_size(algorithm, &key) {
        return Err(format!("{kid}: not a {algorithm:?} public key"));
    }
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // As Gatehouse itself: a leeway would only extend every token's life.
    validation.leeway = 0;
    Ok((
        kid,
        VerificationKey {
            algorithm,
            key,
            validation,
        },
    ))
}

/// The one algorithm a JWK verifies. Its `alg`, when present, must agree with its key type
/// and curve; without one, only an unambiguous key type names it (an RSA key could be any
/// of six algorithms, so it must say). Symmetric (`oct`) and unknown keys have none here.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    let stated = match jwk.common.key_algorithm {
        Some(alg) => Some(Algorithm::try_from(alg).ok()?),
        None => None,
    };
    let implied = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => Algorithm::ES384,
        AlgorithmParameters::RSA(_) => {
            return stated.filter(|alg| {
                matches!(
                    alg,
                    Algorithm::RS256
                        | Algorithm::RS384
                        | Algorithm::RS512
                        | Algorithm::PS256
                        | Algorithm::PS384
                        | Algorithm::PS512
                )
            });
        }
        _ => return None,
    };
    match stated {
        Some(alg) if alg != implied => None,
        _ => Some(implied),
    }
}

/// Whether an EdDSA or ECDSA key has the size its curve gives. jsonwebtoken (11.1,
/// `rust_crypto`) slices an Ed25519 key's first 32 bytes when it verifies, and panics on a
/// shorter one: a damaged key must be refused here, when the set is read. RSA keys are
/// checked by the `rsa` crate itself, which returns an error.
fn has_key_size(algorithm: Algorithm, key: &DecodingKey) -> bool {
    let Ok(bytes) = key.try_get_as_bytes() else {
        return key.family() == AlgorithmFamily::Rsa;
    };
    match algorithm {
        Algorithm::EdDSA => bytes.len() == 32,
        // Uncompressed SEC1 points: 0x04, then x and y.
        Algorithm::ES256 => bytes.len() == 65,
        Algorithm::ES384 => bytes.len() == 97,
        _ => key.family() == AlgorithmFamily::Rsa,
    }
}

/// How long a response may be cached: its `max-age`, none for `no-store`/`no-cache`, the
/// fallback without either (or with one that does not parse); never more than a day.
pub(crate) fn max_age(cache_control: Option<&str>, fallback: Duration) -> Duration {
    let Some(value) = cache_control else {
        return fallback.min(MAX_CACHE_AGE);
    };
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(seconds) = lower.strip_prefix("max-age=") {
            age = seconds
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    age.unwrap_or(fallback).min(MAX_CACHE_AGE)
}

/// Fetches and reads the key set once.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    config: &VerifierConfig,
) -> Result<Fetched, String> {
    let mut response = http
        .get(&config.jwks_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("GET {} failed: {}", config.jwks_url, chain(&e)))?;
    if !response.status().is_success() {
        return Err(format!(
            "GET {} answered {}",
            config.jwks_url,
            response.status()
        ));
    }
    let cache_control = response
        .headers()
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // A shared cache on the way already held the response this long: it is fresh for the
    // rest of its max-age only (RFC 9111), or the lag behind a rotation adds up; and its
    // staleness counts from when that ended, not from now.
    let age = response
        .headers()
        .get(reqwest::header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs);
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading {} failed: {}", config.jwks_url, chain(&e)))?
    {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(format!(
                "{} is larger than {MAX_JWKS_BYTES} bytes",
                config.jwks_url
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let keys = parse(&body, config)?;
    if keys.is_empty() {
        tracing::warn!(url = %config.jwks_url, "the JWKS has no usable key");
    }
    Ok(Fetched {
        keys,
        max_age: max_age(cache_control.as_deref(), config.fallback_max_age),
        age,
    })
}

/// An error with its causes: reqwest's own message ("error sending request") leaves out
/// the one that says what went wrong (refused, timed out, certificate).
fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FALLBACK: Duration = Duration::from_secs(300);

    fn config() -> VerifierConfig {
        VerifierConfig::new("http://localhost", "gatehouse", "api")
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        let age = |v| max_age(Some(v), FALLBACK);
        assert_eq!(age("public, max-age=60"), Duration::from_secs(60));
        assert_eq!(age("Max-Age=7, public"), Duration::from_secs(7));
        assert_eq!(age("public"), FALLBACK);
        assert_eq!(age("max-age=soon"), FALLBACK);
        assert_eq!(age("no-store"), Duration::ZERO);
        assert_eq!(age("max-age=60, no-cache"), Duration::ZERO);
        assert_eq!(age("max-age=99999999999"), MAX_CACHE_AGE);
        assert_eq!(max_age(None, FALLBACK), FALLBACK);
    }

    /// A real Ed25519 public key (RFC 8037 appendix A.2).
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn only_usable_signing_keys_are_kept() {
        let body = json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "ed", "alg": "EdDSA", "use": "sig"},
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "bare"},
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X},
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "enc", "use": "enc"},
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "liar", "alg": "ES256"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "sym", "alg": "HS256"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa-no-alg"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa-hs", "alg": "HS256"},
            {"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA", "kid": "p521"},
            {"kty": "XYZ", "kid": "future"},
            "not even an object",
        ]});
        let keys = parse(body.to_string().as_bytes(), &config()).unwrap();
        let mut kids: Vec<&str> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["bare", "ed"]);
        assert_eq!(keys["ed"].algorithm, Algorithm::EdDSA);
    }

    #[test]
    fn keys_of_algorithms_not_allowed_are_skipped() {
        let mut config = config();
        config.algorithms = vec![Algorithm::ES256];
        let body = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "ed"}]});
        assert!(
            parse(body.to_string().as_bytes(), &config)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_document_that_is_not_a_key_set_is_an_error() {
        for body in ["", "[]", "{}", "{\"keys\": {}}", "<html>"] {
            assert!(parse(body.as_bytes(), &config()).is_err(), "{body}");
        }
    }
}
