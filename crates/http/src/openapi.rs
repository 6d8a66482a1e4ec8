//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

/// Gatehouse's API description, served at `/api/schema`.
#[derive(OpenApi)]
#[openapi(
    info(title = "Gatehouse", description = "User management and authentication."),
    paths(
        register, login, refresh, logout, logout_all,
        verify_email, resend_verification, forgot_password, reset_password,
        create, current, delete,
        me, update_me, change_password, set_avatar, devices, revoke_device,
        list, create_user, lookup, get, update, deactivate,
        my_credits, adjust_credits, pre_register, audit_events, avatar,
        create_task, show_task, revoke_task,
        list_categories, show_category, create_category, replace_category, patch_category,
        delete_category,
        list_products, show_product, create_product, replace_product, patch_product,
        delete_product,
        health, live, ready, metrics,
    ),
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
