//! The session and CSRF cookies.
//!
//! When cookies are `Secure` (production, or `GATEHOUSE_COOKIE_SECURE=true`) their names
//! carry the `__Host-` prefix: browsers then accept them only over HTTPS, from this exact
//! host, with `Path=/` and no `Domain`, so a sibling subdomain (or a network attacker on
//! plain HTTP) cannot plant or overwrite them. Only the names in use are read.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use gatehouse_application::StartedSession;

use crate::WebSettings;

/// The session cookie (plain HTTP): HttpOnly, never readable by scripts.
pub const SESSION_COOKIE: &str = "gatehouse_session";
/// The CSRF cookie (plain HTTP): readable by the page's scripts, which echo it in
/// `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "gatehouse_csrf";
/// The session cookie when cookies are `Secure`.
pub const SECURE_SESSION_COOKIE: &str = "__Host-gatehouse_session";
/// The CSRF cookie when cookies are `Secure`.
pub const SECURE_CSRF_COOKIE: &str = "__Host-gatehouse_csrf";
/// The header that must carry the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The two cookie names in use: `(session, csrf)`.
fn names(web: &WebSettings) -> (&'static str, &'static str) {
    if web.cookie_secure {
        (SECURE_SESSION_COOKIE, SECURE_CSRF_COOKIE)
    } else {
        (SESSION_COOKIE, CSRF_COOKIE)
    }
}

/// The session cookie's value, if the request has one.
pub fn session_id(req: &HttpRequest, web: &WebSettings) -> Option<String> {
    req.cookie(names(web).0)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

fn cookie(
    name: &'static str,
    value: String,
    http_only: bool,
    web: &WebSettings,
) -> Cookie<'static> {
    let max_age = time::Duration::try_from(web.cookie_max_age).unwrap_or(time::Duration::DAY);
    // `__Host-` requires exactly this: Secure, Path=/, no Domain (none is ever set).
    Cookie::build(name, value)
        .path("/")
        .http_only(http_only)
        .secure(web.cookie_secure)
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish()
}

/// The two cookies that carry a new session.
pub fn issue(session: &StartedSession, web: &WebSettings) -> [Cookie<'static>; 2] {
    let (session_name, csrf_name) = names(web);
    [
        cookie(session_name, session.session_id.clone(), true, web),
        cookie(csrf_name, session.csrf_token.clone(), false, web),
    ]
}

/// Cookies that make the browser forget the session.
pub fn clear(web: &WebSettings) -> [Cookie<'static>; 2] {
    let (session_name, csrf_name) = names(web);
    [(session_name, true), (csrf_name, false)].map(|(name, http_only)| {
        let mut gone = cookie(name, String::new(), http_only, web);
        gone.make_removal();
        gone
    })
}
