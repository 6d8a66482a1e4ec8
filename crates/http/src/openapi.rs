//! The OpenAPI document: the root below (title, tags, security schemes) merged with every
//! route module's paths, generated from the handlers' `#[utoipa::path]` annotations.

use std::sync::LazyLock;

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

/// The whole document, as served at `/api/schema`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    for part in crate::routes::documents() {
        document.merge(part);
    }
    StandardErrors.modify(&mut document);
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
        (name = "mfa", description = "Second factors (authenticator app, recovery codes, passkeys) and the sign-in step they add"),
        (name = "users", description = "Accounts, profiles, administration"),
        (name = "credits", description = "Credit ledger"),
        (name = "audit", description = "Audit log (admins)"),
        (name = "tasks", description = "Background tasks"),
        (name = "catalog", description = "Categories and products (sample business module)"),
        (name = "operations", description = "Health and metrics"),
        (name = "simplejwt", description = "SimpleJWT-compatible token endpoints for Django front ends: DRF's bodies, and DRF's `detail` beside the standard error fields"),
    )
)]
pub struct ApiDoc;

/// The statuses an operation can answer because of its shape rather than its handler: what
/// the extractors, the JSON and path readers and the error mapping ([`crate::ApiError`]) do
/// before or around any handler. A handler's own annotation describes the rest (404 of a
/// lookup, 409, 429) and wins where both name a status.
struct StandardErrors;

impl StandardErrors {
    /// `(status, description)` for one operation at `path`.
    fn for_operation(path: &str, operation: &Operation) -> Vec<(u16, &'static str)> {
        let mut statuses = vec![(500, "internal_error")];
        let operational = operation
            .tags
            .as_ref()
            .is_some_and(|tags| tags.iter().any(|t| t == "operations"));
        if !operational {
            statuses.push((
                503,
                "service_unavailable: a store the operation needs is down",
            ));
        }
        if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
            statuses.push((
                401,
                "not_authenticated, token_invalid or token_expired: no usable bearer token or session",
            ));
            statuses.push((
                403,
                "permission_denied (not allowed, or the account is deactivated), or csrf_failed (a session cookie on an unsafe method without its X-CSRF-Token)",
            ));
        }
        let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
        if operation.request_body.is_some() {
            statuses.push((400, "invalid_json or validation_error"));
            statuses.push((413, "payload_too_large: the body is over the limit"));
            statuses.push((
                415,
                "unsupported_media_type: the body is not of the documented type",
            ));
        } else if has_parameters {
            statuses.push((400, "validation_error: a parameter is malformed"));
        }
        if path.contains('{') {
            statuses.push((404, "not_found"));
        }
        statuses
    }
}

impl Modify for StandardErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, description) in Self::for_operation(path, operation) {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| error_response(description));
                }
            }
        }
    }
}

/// A response carrying the standard error body.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
        .into()
}

/// One body type read by several operations that require different fields of it (a PATCH
/// takes any subset, a POST or PUT needs some): a copy of body schema `schema`, named `name`,
/// with `fields` required and not nullable, becomes the request body of `operations`
/// (`(method, path)`). The server reads the same type; the application reports the missing
/// fields.
pub(crate) struct RequiredFields {
    pub schema: &'static str,
    pub name: &'static str,
    pub fields: &'static [&'static str],
    pub operations: &'static [(&'static str, &'static str)],
}

impl Modify for RequiredFields {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let Some(RefOr::T(Schema::Object(original))) = components.schemas.get(self.schema) else {
            panic!("{} is not an object schema of this document", self.schema);
        };
        let mut required = original.clone();
        for field in self.fields {
            if !required.required.iter().any(|f| f == field) {
                required.required.push((*field).to_owned());
            }
            if let Some(RefOr::T(Schema::OneOf(one_of))) = required.properties.get(*field) {
                let not_null = one_of.items.iter().find(|item| !is_null(item)).cloned();
                if let Some(schema) = not_null {
                    required.properties.insert((*field).to_owned(), schema);
                }
            }
        }
        components
            .schemas
            .insert(self.name.to_owned(), RefOr::T(Schema::Object(required)));
        for (method, path) in self.operations {
            let operation = openapi
                .paths
                .paths
                .get_mut(*path)
                .and_then(|item| operation_mut(item, method))
                .unwrap_or_else(|| panic!("no operation {method} {path}"));
            if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
                body.content.insert(
                    "application/json".to_owned(),
                    RefOr::T(Content::new(Some(Ref::from_schema_name(self.name)))),
                );
            }
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(object))
        if object.schema_type == SchemaType::Type(Type::Null))
}

fn operation_mut<'a>(item: &'a mut PathItem, method: &str) -> Option<&'a mut Operation> {
    match method {
        "get" => item.get.as_mut(),
        "post" => item.post.as_mut(),
        "put" => item.put.as_mut(),
        "patch" => item.patch.as_mut(),
        "delete" => item.delete.as_mut(),
        _ => None,
    }
}

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
        "GET /.well-known/jwks.json",
        "GET /api/v1/users/me/mfa",
        "POST /api/v1/users/me/mfa/totp",
        "DELETE /api/v1/users/me/mfa/totp",
        "POST /api/v1/users/me/mfa/totp/confirm",
        "POST /api/v1/users/me/mfa/recovery-codes",
        "POST /api/v1/users/me/passkeys/register/start",
        "POST /api/v1/users/me/passkeys/register/finish",
        "DELETE /api/v1/users/me/passkeys/{id}",
        "POST /api/v1/auth/mfa/verify",
        "POST /api/v1/sessions/mfa",
        "POST /api/v1/auth/mfa/webauthn/start",
        "POST /api/v1/auth/passkey/start",
        "POST /api/v1/auth/passkey/finish",
        "DELETE /api/v1/users/{id}/mfa",
        "POST /api/token/",
        "POST /api/token/refresh/",
        "POST /api/token/verify/",
        "POST /api/token/blacklist/",
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
    fn every_operation_lists_the_errors_its_shape_allows() {
        let document = document();
        for (path, item) in &document.paths.paths {
            let operations = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
            for operation in operations.into_iter().flatten() {
                let listed = &operation.responses.responses;
                let mut expected = vec!["500"];
                if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    expected.extend(["401", "403"]);
                }
                if operation.request_body.is_some() {
                    expected.extend(["400", "413", "415"]);
                }
                if path.contains('{') {
                    expected.extend(["400", "404"]);
                }
                for status in expected {
                    assert!(listed.contains_key(status), "{path}: no {status}");
                }
            }
        }
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
