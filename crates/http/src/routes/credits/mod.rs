//! The credit ledger: the caller's statement, and admins' grants and spends.

pub mod dto;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use gatehouse_domain::UserId;
use utoipa::OpenApi;

use self::dto::{CreditAdjustmentResponse, CreditRequest, CreditsResponse};
use crate::error::ErrorBody;
use crate::extract::{Authenticated, JsonObject, path_uuid};
use crate::{ApiError, AppState};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/users/me/credits").route(web::get().to(my_credits)))
        .service(web::resource("/api/v1/users/{id}/credits").route(web::post().to(adjust_credits)));
}

#[derive(OpenApi)]
#[openapi(paths(my_credits, adjust_credits))]
pub struct Api;

/// The caller's credit balance and latest entries.
#[utoipa::path(get, path = "/api/v1/users/me/credits", tag = "credits", security(("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Balance and entries", body = CreditsResponse)))]
pub async fn my_credits(
    state: web::Data<AppState>,
    user: Authenticated,
) -> Result<web::Json<CreditsResponse>, ApiError> {
    let statement = state.credits.statement(&user.0).await?;
    Ok(web::Json(CreditsResponse {
        balance: statement.balance,
        entries: statement.entries.into_iter().map(Into::into).collect(),
    }))
}

/// Grant (positive) or spend (negative) a user's credits. Admins only; a spend the balance
/// does not cover is 409 and changes nothing.
#[utoipa::path(post, path = "/api/v1/users/{id}/credits", tag = "credits", security(("bearer" = []), ("session" = [])),
    params(("id" = Uuid, Path, description = "User id")), request_body = CreditRequest,
    responses(
        (status = 201, description = "Applied", body = CreditAdjustmentResponse),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Insufficient credits", body = ErrorBody),
    ))]
pub async fn adjust_credits(
    state: web::Data<AppState>,
    user: Authenticated,
    id: web::Path<String>,
    body: JsonObject<CreditRequest>,
) -> Result<HttpResponse, ApiError> {
    let target = UserId::from_uuid(path_uuid(&id)?);
    let entry = state
        .credits
        .adjust(&user.0, target, body.amount, &body.reason)
        .await?;
    Ok(
        HttpResponse::build(StatusCode::CREATED).json(CreditAdjustmentResponse {
            balance: entry.balance_after,
            entry: entry.into(),
        }),
    )
}
