//! SimpleJWT's bodies, field for field: a front end written for `djangorestframework-simplejwt`
//! reads and sends these unchanged. The login body is `/auth/login`'s (`LoginRequest`): the
//! password and a `username`, or an `email` for projects that log in by email.

use gatehouse_application::TokenPair;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::constraints;

/// `TokenRefreshView` and `TokenBlacklistView`: a refresh token.
#[derive(Deserialize, ToSchema)]
pub struct RefreshTokenRequest {
    #[schema(schema_with = constraints::token)]
    pub refresh: String,
}

/// `TokenVerifyView`: an access or a refresh token.
#[derive(Deserialize, ToSchema)]
pub struct VerifyTokenRequest {
    #[schema(schema_with = constraints::token)]
    pub token: String,
}

/// A pair, as SimpleJWT names it. `access` is an ordinary Gatehouse access token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairResponse {
    pub access: String,
    pub refresh: String,
}

impl From<TokenPair> for TokenPairResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access: pair.access_token,
            refresh: pair.refresh_token,
        }
    }
}

/// SimpleJWT's `{}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmptyResponse {}
