//! The console's pages: one askama template each (`templates/console/`), every value
//! HTML-escaped by the template engine.

use askama::Template;

/// `/admin/login`.
#[derive(Template)]
#[template(path = "console/login.html")]
pub(super) struct LoginPage<'a> {
    /// What was typed as the email or username, shown back.
    pub login: &'a str,
    pub error: Option<&'a str>,
}

impl LoginPage<'static> {
    pub(super) fn blank() -> Self {
        Self {
            login: "",
            error: None,
        }
    }
}

/// The second step of a sign-in.
#[derive(Template)]
#[template(path = "console/mfa.html")]
pub(super) struct MfaPage<'a> {
    pub mfa_token: &'a str,
    pub error: Option<&'a str>,
}

/// A signed-in user who is not an admin.
#[derive(Template)]
#[template(path = "console/forbidden.html")]
pub(super) struct Forbidden<'a> {
    pub username: &'a str,
    pub csrf_token: &'a str,
}

/// `/admin/`.
#[derive(Template)]
#[template(path = "console/dashboard.html")]
pub(super) struct Dashboard<'a> {
    pub username: &'a str,
    pub csrf_token: &'a str,
    pub checks: Vec<(&'static str, bool)>,
}
