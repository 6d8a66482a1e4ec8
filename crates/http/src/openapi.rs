//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

/// Gatehouse's API description, served at `/api/schema`.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse", description = "User management and authentication."),
    paths(register, login, refresh, logout, logout_all, me, health, live, ready),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Registration, tokens"),
        (name = "users", description = "Accounts"),
        (name = "operations", description = "Health"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}
