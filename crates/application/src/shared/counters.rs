//! Security counters, recorded through the `metrics` facade (as logs go through `tracing`):
//! the binary installs the exporter; a test or an embedder without one pays nothing.
//!
//! Only what the application alone can see is counted here. Request counts and latencies
//! belong to the HTTP layer.

use crate::shared::error::AppError;

/// One password login, JWT or session, by outcome.
pub(crate) fn login<T>(mode: &'static str, result: &Result<T, AppError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(AppError::InvalidCredentials) => "invalid_credentials",
        Err(AppError::AccountDisabled) => "account_disabled",
        Err(AppError::RateLimited { .. }) => "rate_limited",
        Err(AppError::Validation(_)) => "invalid_request",
        Err(_) => "error",
    };
    metrics::counter!("gatehouse_logins_total", "mode" => mode, "outcome" => outcome).increment(1);
}

/// One refresh-token exchange, by outcome.
pub(crate) fn refresh<T>(result: &Result<T, AppError>) {
    let outcome = match result {
        Ok(_) => "success",
        Err(AppError::TokenInvalid) => "invalid",
        Err(AppError::TokenExpired) => "expired",
        Err(AppError::RateLimited { .. }) => "rate_limited",
        Err(_) => "error",
    };
    metrics::counter!("gatehouse_token_refreshes_total", "outcome" => outcome).increment(1);
}

/// A rotated refresh token came back and its whole family was revoked: the stolen-token
/// alarm. (The refresh itself also counts, as `invalid`.)
pub(crate) fn refresh_reuse_detected() {
    metrics::counter!("gatehouse_refresh_reuse_detected_total").increment(1);
}

/// One request refused by a rate limit, by the limit's name.
pub(crate) fn rate_limited(limit: &'static str) {
    metrics::counter!("gatehouse_rate_limit_rejections_total", "limit" => limit).increment(1);
}

/// Help text for the series above, for the exporter to publish.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "gatehouse_logins_total",
        "Password logins by mode (token, session) and outcome."
    );
    metrics::describe_counter!(
        "gatehouse_token_refreshes_total",
        "Refresh-token exchanges by outcome."
    );
    metrics::describe_counter!(
        "gatehouse_refresh_reuse_detected_total",
        "Rotated refresh tokens presented again; each revoked its whole family."
    );
    metrics::describe_counter!(
        "gatehouse_rate_limit_rejections_total",
        "Requests refused by a rate limit, by limit."
    );
}
