//! The pre-registration body.

use serde::Deserialize;
use utoipa::ToSchema;

/// `POST /pre-registrations`.
#[derive(Deserialize, ToSchema)]
pub struct PreRegistrationRequest {
    #[schema(example = "jane@example.com")]
    pub email: String,
}
