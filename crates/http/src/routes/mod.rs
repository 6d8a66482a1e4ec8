//! Routes, one module per capability. Each module mounts its own routes (`configure`) and
//! describes them (`Api`, its OpenAPI paths); listing a module below does both.

mod docs;
mod uploads;

use actix_web::web;

use crate::ApiError;

/// Declares the route modules, in matching order, and derives from that one list both the
/// mounting of every route and the set of OpenAPI documents to merge.
macro_rules! route_modules {
    ($($module:ident),+ $(,)?) => {
        $(pub(crate) mod $module;)+

        /// Mounts every route: the API documents, then each module in the order listed.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            docs::configure(cfg);
            $($module::configure(cfg);)+
        }

        /// Every module's OpenAPI paths (and the schemas they use).
        pub(crate) fn documents() -> Vec<utoipa::openapi::OpenApi> {
            use utoipa::OpenApi as _;
            vec![$($module::Api::openapi()),+]
        }
    };
}

// Fixed paths before the patterns that would swallow them: `profile`, `devices`, `credits`
// and `mfa` (`/users/me...`) before `users` (`/users/{id}`).
route_modules!(
    health,
    keys,
    auth,
    recovery,
    sessions,
    profile,
    devices,
    credits,
    mfa,
    users,
    pre_registrations,
    audit,
    tasks,
    categories,
    products,
    simplejwt,
);

pub use health::configure_process;

/// Anything no route matched.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found())
}
