//! The OpenAPI document: the root below (title, tags, security schemes) merged with every
//! route module's paths, generated from the handlers' `#[utoipa::path]` annotations.

use std::sync::LazyLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The whole document, as served at `/api/schema`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    for part in crate::routes::documents() {
        document.merge(part);
    }
    document
}

/// The document as JSON, built once.
pub(crate) fn json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        document()
            .to_json()
            .expect("the OpenAPI document serialises")
    });
    &JSON
}

/// Gatehouse's API description without its paths: what every module's paths are merged into.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse", description = "User management and authentication."),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Registration, tokens"),
        (name = "sessions", description = "Cookie sessions (CSRF: echo X-CSRF-Token on unsafe methods)"),
        (name = "users", description = "Accounts, profiles, administration"),
        (name = "credits", description = "Credit ledger"),
        (name = "audit", description = "Audit log (admins)"),
        (name = "tasks", description = "Background tasks"),
        (name = "catalog", description = "Categories and products (sample business module)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
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
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "gatehouse_session",
                "Session cookie from POST /api/v1/sessions (named __Host-gatehouse_session when cookies are Secure); unsafe methods also need X-CSRF-Token",
            ))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation the API has: a route module that forgets to describe one fails here.
    const OPERATIONS: &[&str] = &[
        "GET /api/v1/audit-events",
        "POST /api/v1/auth/forgot-password",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/logout",
        "POST /api/v1/auth/logout-all",
        "POST /api/v1/auth/refresh",
        "POST /api/v1/auth/register",
        "POST /api/v1/auth/reset-password",
        "POST /api/v1/auth/verify-email",
        "POST /api/v1/auth/verify-email/resend",
        "GET /api/v1/categories",
        "POST /api/v1/categories",
        "DELETE /api/v1/categories/{id}",
        "GET /api/v1/categories/{id}",
        "PATCH /api/v1/categories/{id}",
        "PUT /api/v1/categories/{id}",
        "POST /api/v1/pre-registrations",
        "GET /api/v1/products",
        "POST /api/v1/products",
        "DELETE /api/v1/products/{id}",
        "GET /api/v1/products/{id}",
        "PATCH /api/v1/products/{id}",
        "PUT /api/v1/products/{id}",
        "POST /api/v1/sessions",
        "DELETE /api/v1/sessions/current",
        "GET /api/v1/sessions/current",
        "POST /api/v1/tasks",
        "DELETE /api/v1/tasks/{id}",
        "GET /api/v1/tasks/{id}",
        "GET /api/v1/users",
        "POST /api/v1/users",
        "GET /api/v1/users/lookup",
        "GET /api/v1/users/me",
        "PATCH /api/v1/users/me",
        "PUT /api/v1/users/me/avatar",
        "GET /api/v1/users/me/credits",
        "GET /api/v1/users/me/devices",
        "DELETE /api/v1/users/me/devices/{id}",
        "POST /api/v1/users/me/password",
        "DELETE /api/v1/users/{id}",
        "GET /api/v1/users/{id}",
        "PATCH /api/v1/users/{id}",
        "POST /api/v1/users/{id}/credits",
        "GET /health",
        "GET /health/live",
        "GET /health/ready",
        "GET /media/avatars/{file}",
        "GET /metrics",
    ];

    fn operations(document: &utoipa::openapi::OpenApi) -> Vec<String> {
        let mut found = Vec::new();
        for (path, item) in &document.paths.paths {
            for (method, operation) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if operation.is_some() {
                    found.push(format!("{method} {path}"));
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn the_document_lists_every_operation() {
        let mut expected: Vec<String> = OPERATIONS.iter().map(|s| s.to_string()).collect();
        expected.sort();
        let document = document();
        if let Ok(path) = std::env::var("GATEHOUSE_DUMP_OPENAPI") {
            std::fs::write(path, json()).unwrap();
        }
        assert_eq!(operations(&document), expected);
    }
}
