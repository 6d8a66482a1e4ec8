//! The admin console: server-rendered pages for people (askama templates checked at compile
//! time, our own stylesheet, no script at all), over the same services, cookie session and
//! CSRF token as the API. Anonymous visitors are sent to the sign-in page; signed-in
//! non-admins get 403 on every page. Every unsafe request carries the session's CSRF token
//! as a form field and, when the browser sends one, this site's `Origin`.

mod catalog;
mod dashboard;
mod jobs;
mod pages;
mod records;
mod users;
mod view;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_application::{
    ActiveSession, AppError, FactorProof, LoginIdentifier, LoginInput, Principal, SignIn,
    StartedSession,
};
use gatehouse_domain::{Role, User};
use serde::Deserialize;

use self::pages::{Forbidden, LoginPage, MfaPage, NoticePage};
use crate::client::client_info;
use crate::extract::origin_allowed;
use crate::session_cookies::{self, session_id};
use crate::{ApiError, AppState};

/// The console's Content-Security-Policy: nothing but this site's own stylesheet and forms;
/// no script (inline or not), no frame, no other origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'";

/// Marks a response as a page for people: the JSON error envelope leaves its body alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HumanPage;

/// Mounts the console under `/admin`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/admin/static/console.css").route(web::get().to(stylesheet)))
        .service(
            web::resource("/admin/login")
                .route(web::get().to(login_form))
                .route(web::post().to(login)),
        )
        .service(web::resource("/admin/login/mfa").route(web::post().to(second_factor)))
        .service(web::resource("/admin/logout").route(web::post().to(logout)))
        .service(web::resource("/admin/").route(web::get().to(dashboard::show)))
        .service(web::resource("/admin").route(web::get().to(to_dashboard)));
    users::configure(cfg);
    catalog::configure(cfg);
    records::configure(cfg);
    jobs::configure(cfg);
}

/// What a console handler answers: the page, or the response that stands in for it (the
/// sign-in page, a 403 page, a refusal).
pub(crate) type Reply = Result<HttpResponse, Stop>;

/// A response that ends a console request early.
pub(crate) struct Stop(HttpResponse);

impl From<HttpResponse> for Stop {
    fn from(response: HttpResponse) -> Self {
        Self(response)
    }
}

/// A refusal is a page saying what went wrong; a fault (5xx) stays the API's error body.
impl From<ApiError> for Stop {
    fn from(error: ApiError) -> Self {
        let (status, lines) = error.for_people();
        if status.is_server_error() {
            return Self(error_response(error));
        }
        Self(refusal(status, lines))
    }
}

impl From<AppError> for Stop {
    fn from(error: AppError) -> Self {
        ApiError::from(error).into()
    }
}

/// The page for a refused action.
fn refusal(status: StatusCode, lines: Vec<String>) -> HttpResponse {
    let notice = NoticePage {
        title: "That did not work",
        lines,
    };
    page(status, &notice).unwrap_or_else(error_response)
}

/// Runs a console handler's body: the page, or what stopped it.
pub(crate) fn reply(result: Reply) -> HttpResponse {
    result.unwrap_or_else(|Stop(response)| response)
}

/// The signed-in admin behind a console request.
pub(crate) struct Admin {
    /// The admin's account.
    pub user: User,
    /// Their session (its CSRF token goes into every form).
    pub session: ActiveSession,
    /// Who the services are told is acting, from this request's client.
    pub principal: Principal,
}

impl Admin {
    /// The page chrome for this admin, with a confirmation `notice` when there is one.
    pub fn chrome(&self, notice: Option<&str>) -> view::Chrome {
        view::Chrome {
            username: self.user.username.as_str().to_owned(),
            csrf_token: self.session.csrf_token.clone(),
            notice: notice.and_then(view::confirmation),
        }
    }
}

/// The signed-in admin for a page request: anonymous visitors go to the sign-in page, other
/// users get 403.
pub(crate) async fn admin(req: &HttpRequest, state: &AppState) -> Result<Admin, Stop> {
    let (user, session) = signed_in(req, state).await?;
    if user.role != Role::Admin {
        let forbidden = Forbidden {
            username: user.username.as_str(),
            csrf_token: &session.csrf_token,
        };
        return Err(Stop(
            page(StatusCode::FORBIDDEN, &forbidden).unwrap_or_else(error_response),
        ));
    }
    let mut principal = session.principal.clone();
    principal.client = client_info(req, &state.web);
    Ok(Admin {
        user,
        session,
        principal,
    })
}

/// The signed-in admin for an unsafe request, and its form: the session's CSRF token must be
/// in the form and the request must come from this site.
pub(crate) async fn admin_form<T: for<'de> Deserialize<'de>>(
    req: &HttpRequest,
    state: &AppState,
    body: &[u8],
) -> Result<(Admin, T), Stop> {
    let admin = admin(req, state).await?;
    let token: CsrfForm = form(body).map_err(|_| ApiError::csrf_failed())?;
    if !csrf_holds(req, state, &admin.session, &token.csrf_token) {
        return Err(ApiError::csrf_failed().into());
    }
    Ok((admin, form(body)?))
}

/// 303 to `to` with a confirmation key the page turns into a message.
pub(crate) fn done(to: &str, what: &str) -> HttpResponse {
    let separator = if to.contains('?') { '&' } else { '?' };
    see_other(&format!("{to}{separator}done={what}"))
}

/// The query of a page an action ended on (see [`done`]): which fixed confirmation to show.
#[derive(Deserialize)]
pub(crate) struct Confirmation {
    pub(crate) done: Option<String>,
}

/// An id from the path, made into its type by `wrap`; anything that is not a UUID is a page
/// that does not exist.
pub(crate) fn path_id<T>(raw: &str, wrap: fn(uuid::Uuid) -> T) -> Result<T, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(wrap)
        .map_err(|_| ApiError::not_found())
}

/// An HTML page with the console's security headers.
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Result<HttpResponse, ApiError> {
    let html = template
        .render()
        .map_err(|e| ApiError::from(AppError::Internal(e.into())))?;
    let mut response = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        // Browsers send `Origin: null` on a form post from a `no-referrer` page (the API's
        // default); the console's forms must name their origin for the CSRF check.
        .insert_header(("Referrer-Policy", "same-origin"))
        .body(html);
    response.extensions_mut().insert(HumanPage);
    Ok(response)
}

/// 303 See Other to `to` (after a form, the browser follows with a GET).
pub(crate) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../assets/console/console.css"))
}

async fn to_dashboard() -> HttpResponse {
    see_other("/admin/")
}

/// The account and session behind the session cookie, whoever it is; anonymous visitors
/// go to the sign-in page.
async fn signed_in(req: &HttpRequest, state: &AppState) -> Result<(User, ActiveSession), Stop> {
    let to_login = || see_other("/admin/login");
    let id = session_id(req, &state.web).ok_or_else(|| Stop(to_login()))?;
    let session = match state.sessions.authenticate(&id).await {
        Ok(session) => session,
        Err(AppError::NotAuthenticated) => return Err(Stop(to_login())),
        Err(other) => return Err(Stop(error_response(other.into()))),
    };
    match state.users.me(&session.principal).await {
        Ok(user) => Ok((user, session)),
        Err(AppError::NotAuthenticated) => Err(Stop(to_login())),
        Err(other) => Err(Stop(error_response(other.into()))),
    }
}

fn error_response(error: ApiError) -> HttpResponse {
    actix_web::ResponseError::error_response(&error)
}

/// An unsafe console request: the session's CSRF token in the form and, when sent, this
/// site's `Origin`.
fn csrf_holds(req: &HttpRequest, state: &AppState, session: &ActiveSession, token: &str) -> bool {
    session.csrf_matches(token) && origin_allowed(req, &state.web)
}

pub(crate) fn form<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_urlencoded::from_bytes(body)
        .map_err(|_| ApiError::validation("form", "the form is incomplete or malformed"))
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

#[derive(Deserialize)]
struct MfaForm {
    mfa_token: String,
    code: String,
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf_token: String,
}

async fn login_form() -> Result<HttpResponse, ApiError> {
    page(StatusCode::OK, &LoginPage::blank())
}

/// Password sign-in into a cookie session; a second factor when the account has one.
async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !origin_allowed(&req, &state.web) {
        return Err(ApiError::csrf_failed());
    }
    let typed: LoginForm = form(&body)?;
    let identifier = if typed.login.contains('@') {
        LoginIdentifier::Email(typed.login.clone())
    } else {
        LoginIdentifier::Username(typed.login.clone())
    };
    let input = LoginInput {
        identifier,
        password: typed.password.into(),
        client: client_info(&req, &state.web),
    };
    let previous = session_id(&req, &state.web);
    match state.auth.start_session(input, previous.as_deref()).await {
        Ok(SignIn::Complete((_, session))) => Ok(signed_in_response(&state, &session)),
        Ok(SignIn::SecondFactor(challenge)) => page(
            StatusCode::OK,
            &MfaPage {
                mfa_token: &challenge.mfa_token,
                error: None,
            },
        ),
        Err(refused) => login_refused(&typed.login, refused),
    }
}

/// The sign-in page again with what went wrong, for the refusals a person can act on.
fn login_refused(login: &str, refused: AppError) -> Result<HttpResponse, ApiError> {
    let (status, message) = match refused {
        AppError::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "Wrong email, username or password.",
        ),
        AppError::AccountDisabled => (StatusCode::FORBIDDEN, "This account is deactivated."),
        AppError::RateLimited { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts; wait a few minutes and try again.",
        ),
        AppError::TokenInvalid | AppError::TokenExpired => (
            StatusCode::UNAUTHORIZED,
            "That sign-in expired; sign in again.",
        ),
        other => return Err(other.into()),
    };
    page(
        status,
        &LoginPage {
            login,
            error: Some(message),
        },
    )
}

/// The second step: a code from the app or a recovery code.
async fn second_factor(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !origin_allowed(&req, &state.web) {
        return Err(ApiError::csrf_failed());
    }
    let typed: MfaForm = form(&body)?;
    let client = client_info(&req, &state.web);
    let previous = session_id(&req, &state.web);
    let proof = FactorProof::Code(typed.code);
    match state
        .auth
        .complete_session(&typed.mfa_token, proof, &client, previous.as_deref())
        .await
    {
        Ok((_, session)) => Ok(signed_in_response(&state, &session)),
        Err(AppError::InvalidCredentials) => page(
            StatusCode::UNAUTHORIZED,
            &MfaPage {
                mfa_token: &typed.mfa_token,
                error: Some("That code is not right, or was used already."),
            },
        ),
        Err(refused) => login_refused("", refused),
    }
}

fn signed_in_response(state: &AppState, session: &StartedSession) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, "/admin/"));
    for cookie in session_cookies::issue(session, &state.web) {
        response.cookie(cookie);
    }
    response.finish()
}

/// Signs out (any signed-in user, admin or not) and returns to the sign-in page.
async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (_, session) = match signed_in(&req, &state).await {
        Ok(signed_in) => signed_in,
        Err(Stop(response)) => return Ok(response),
    };
    let typed: CsrfForm = form(&body).map_err(|_| ApiError::csrf_failed())?;
    if !csrf_holds(&req, &state, &session, &typed.csrf_token) {
        return Err(ApiError::csrf_failed());
    }
    let mut principal = session.principal;
    principal.client = client_info(&req, &state.web);
    state.auth.end_session(&principal).await?;
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, "/admin/login"));
    for cookie in session_cookies::clear(&state.web) {
        response.cookie(cookie);
    }
    Ok(response.finish())
}
