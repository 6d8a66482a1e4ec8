//! The pre-registration body.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::constraints;

/// `POST /pre-registrations`.
#[derive(Deserialize, ToSchema)]
pub struct PreRegistrationRequest {
    #[schema(schema_with = constraints::email)]
    pub email: String,
}
