//! The session and CSRF cookies.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use gatehouse_application::StartedSession;

use crate::WebSettings;

/// The session cookie: HttpOnly, never readable by scripts.
pub const SESSION_COOKIE: &str = "gatehouse_session";
/// The CSRF cookie: readable by the page's scripts, which echo it in `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "gatehouse_csrf";
/// The header that must carry the CSRF token on cookie-authenticated unsafe requests.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The session cookie's value, if the request has one.
pub fn session_id(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE)
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
    [
        cookie(SESSION_COOKIE, session.session_id.clone(), true, web),
        cookie(CSRF_COOKIE, session.csrf_token.clone(), false, web),
    ]
}

/// Cookies that make the browser forget the session.
pub fn clear(web: &WebSettings) -> [Cookie<'static>; 2] {
    [SESSION_COOKIE, CSRF_COOKIE].map(|name| {
        let mut gone = cookie(name, String::new(), name == SESSION_COOKIE, web);
        gone.make_removal();
        gone
    })
}
