use actix_web::web;

use crate::dto::UserResponse;
use crate::error::ErrorBody;
use crate::extract::Authenticated;
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/me").route(web::get().to(me)));
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/users/me", tag = "users", security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn me(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<UserResponse>, ApiError> {
    let me = state.users.me(&user.0).await?;
    Ok(web::Json((&me).into()))
}
