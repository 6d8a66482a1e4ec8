//! The JWKS document (RFC 7517), as other services read it.

use serde::Serialize;
use utoipa::ToSchema;

/// `GET /.well-known/jwks.json`: every published signing key (next, current and retired).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The keys, public parameters only.
    pub keys: Vec<Jwk>,
}

/// One published key. Which parameters it has depends on `kty`: `OKP` (Ed25519) has `crv`
/// and `x`; `EC` (P-256) `crv`, `x` and `y`; `RSA` `n` and `e`. Never a private parameter.
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwk {
    /// `OKP`, `EC` or `RSA`.
    pub kty: String,
    /// The key's id, as tokens' `kid` header names it (its RFC 7638 thumbprint).
    pub kid: String,
    /// `EdDSA`, `ES256` or `RS256`.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// Curve: `Ed25519` or `P-256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Public point (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// Public point, y coordinate (P-256).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA exponent (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}
