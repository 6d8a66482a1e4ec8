//! The admin console at the HTTP level: sign-in (with a second factor), the admin gate, CSRF
//! on every form, the security headers, escaping of what users typed, and every page and
//! action: dashboard, users, catalog, pre-registrations, audit log, jobs.

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Client, StatusCode, redirect};

use crate::helpers::{PASSWORD, TestApp, set_cookie, token};

/// A browser that does not follow redirects (each hop is asserted) and sends no cookies of
/// its own (they are passed by hand).
fn browser() -> Client {
    Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in through the console form; the session and CSRF cookies.
async fn console_sign_in(app: &TestApp, login: &str) -> (String, String) {
    let response = browser()
        .post(app.url("/admin/login"))
        .form(&[("login", login), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/admin/");
    let (session, _) = set_cookie(&response, "gatehouse_session").unwrap();
    let (csrf, _) = set_cookie(&response, "gatehouse_csrf").unwrap();
    (session, csrf)
}

fn cookies(session: &str, csrf: &str) -> String {
    format!("gatehouse_session={session}; gatehouse_csrf={csrf}")
}

async fn anonymous_visitors_are_sent_to_sign_in(app: TestApp) {
    let response = browser().get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/admin/login");
    let response = browser().get(app.url("/admin")).send().await.unwrap();
    assert_eq!(response.headers()[LOCATION], "/admin/");
    let form = browser().get(app.url("/admin/login")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(
        form.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = form.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert!(!csp.contains("http"), "no other origin: {csp}");
    let html = form.text().await.unwrap();
    assert!(
        html.contains(r#"<label for="login">Email or username</label>"#),
        "{html}"
    );
    assert!(html.contains(r#"<label for="password">Password</label>"#));
    assert!(html.contains(">Sign in</button>"));
    assert!(!html.contains("<script"));
    let css = browser()
        .get(app.url("/admin/static/console.css"))
        .send()
        .await
        .unwrap();
    assert!(
        css.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

async fn an_admin_signs_in_sees_the_dashboard_and_signs_out(app: TestApp) {
    app.signed_in_admin("chief").await;
    let (session, csrf) = console_sign_in(&app, "chief").await;
    let dashboard = browser()
        .get(app.url("/admin/"))
        .header("Cookie", cookies(&session, &csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);
    let html = dashboard.text().await.unwrap();
    for link in [
        "Dashboard",
        "Users",
        "Catalog",
        "Pre-registrations",
        "Audit log",
        "Jobs",
    ] {
        assert!(html.contains(&format!(">{link}</a>")), "{link}: {html}");
    }
    assert!(html.contains("database"), "{html}");
    // Signing out needs the session's CSRF token in the form, and a same-site Origin.
    let forged = browser()
        .post(app.url("/admin/logout"))
        .header("Cookie", cookies(&session, &csrf))
        .form(&[("csrf_token", "not-it")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let foreign = browser()
        .post(app.url("/admin/logout"))
        .header("Cookie", cookies(&session, &csrf))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let out = browser()
        .post(app.url("/admin/logout"))
        .header("Cookie", cookies(&session, &csrf))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()[LOCATION], "/admin/login");
    let after = browser()
        .get(app.url("/admin/"))
        .header("Cookie", cookies(&session, &csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.headers()[LOCATION],
        "/admin/login",
        "the session ended"
    );
}

async fn non_admins_are_refused_right_after_sign_in(app: TestApp) {
    let login = app.signed_up_user("plain").await;
    assert!(login["access_token"].is_string());
    let (session, csrf) = console_sign_in(&app, "plain@example.com").await;
    let refused = browser()
        .get(app.url("/admin/"))
        .header("Cookie", cookies(&session, &csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Not allowed") && !html.contains(">Users</a>"),
        "{html}"
    );
}

async fn wrong_passwords_and_typed_markup_come_back_escaped(app: TestApp) {
    let response = browser()
        .post(app.url("/admin/login"))
        .form(&[
            ("login", "<script>alert(1)</script>"),
            ("password", "wrong-wrong-wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong email, username or password."));
    assert!(!html.contains("<script>alert(1)</script>"), "{html}");
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{html}"
    );
    let malformed = browser()
        .post(app.url("/admin/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("login=only")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let foreign = browser()
        .post(app.url("/admin/login"))
        .header("Origin", "https://evil.example")
        .form(&[("login", "x"), ("password", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
}

async fn an_admin_with_an_authenticator_app_signs_in_in_two_steps(app: TestApp) {
    let admin = app.signed_in_admin("guard").await;
    let access = token(&admin, "access_token");
    let started: serde_json::Value = app
        .with_token(reqwest::Method::POST, "/api/v1/users/me/mfa/totp", &access)
        .json(&serde_json::json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let secret =
        gatehouse_infrastructure::mfa::TotpSecret::from_base32(started["secret"].as_str().unwrap())
            .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let confirmed = app
        .with_token(
            reqwest::Method::POST,
            "/api/v1/users/me/mfa/totp/confirm",
            &access,
        )
        .json(&serde_json::json!({"code": secret.code_at(now).unwrap()}))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), StatusCode::OK);
    let step = browser()
        .post(app.url("/admin/login"))
        .form(&[("login", "guard"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(step.status(), StatusCode::OK);
    assert!(set_cookie(&step, "gatehouse_session").is_none());
    let html = step.text().await.unwrap();
    assert!(html.contains("Code from your authenticator app, or a recovery code"));
    let marker = r#"name="mfa_token" value=""#;
    let token_start = html.find(marker).unwrap() + marker.len();
    let mfa_token = &html[token_start..token_start + html[token_start..].find('"').unwrap()];
    let wrong = browser()
        .post(app.url("/admin/login/mfa"))
        .form(&[("mfa_token", mfa_token), ("code", "000000")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let next = secret.code_at(now + time::Duration::seconds(30)).unwrap();
    let done = browser()
        .post(app.url("/admin/login/mfa"))
        .form(&[("mfa_token", mfa_token), ("code", next.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert!(set_cookie(&done, "gatehouse_session").is_some());
}

/// A signed-in console session, driven as a browser would: forms carry the CSRF token.
struct Console<'a> {
    app: &'a TestApp,
    session: String,
    csrf: String,
}

impl<'a> Console<'a> {
    async fn of(app: &'a TestApp, login: &str) -> Self {
        let (session, csrf) = console_sign_in(app, login).await;
        Self { app, session, csrf }
    }

    /// An admin made for the test, signed in to the console.
    async fn admin(app: &'a TestApp, name: &str) -> Self {
        app.signed_in_admin(name).await;
        Self::of(app, name).await
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        browser()
            .get(self.app.url(path))
            .header("Cookie", cookies(&self.session, &self.csrf))
            .send()
            .await
            .unwrap()
    }

    /// A page's status and HTML.
    async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        (response.status(), response.text().await.unwrap())
    }

    /// Submits a form with the session's CSRF token.
    async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("csrf_token", self.csrf.as_str())];
        form.extend_from_slice(fields);
        self.post_raw(path, &form).await
    }

    async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        browser()
            .post(self.app.url(path))
            .header("Cookie", cookies(&self.session, &self.csrf))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Submits a form and follows the 303 to the page it confirms on.
    async fn act(&self, path: &str, fields: &[(&str, &str)]) -> (String, String) {
        let response = self.submit(path, fields).await;
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let Some(location) = location else {
            panic!("{path}: {status} {}", response.text().await.unwrap());
        };
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        let (status, html) = self.page(&location).await;
        assert_eq!(status, StatusCode::OK, "{location}: {html}");
        (location, html)
    }
}

/// A short tag that makes this test's names its own on a shared database.
fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// The id in a `/admin/<kind>/<id>?...` location.
fn id_in(location: &str) -> String {
    location
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

async fn user_id(app: &TestApp, access: &str) -> String {
    let me: serde_json::Value = app.me(access).await.json().await.unwrap();
    me["id"].as_str().unwrap().to_owned()
}

/// The dashboard counts every account, active or not, and the day's sign-ins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_every_account_and_the_days_sign_ins() {
    let app = TestApp::embedded().await;
    let console = Console::admin(&app, "chief").await;
    let ada = app.signed_up_user("ada").await;
    app.signed_up_user("bob").await;
    assert_eq!(
        app.login("ada@example.com", "wrong-wrong-wrong")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let ada_id = user_id(&app, &token(&ada, "access_token")).await;
    console
        .act(&format!("/admin/users/{ada_id}/deactivate"), &[])
        .await;
    let (status, html) = console.page("/admin/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"<dd id="users-total">3</dd>"#),
        "a deactivated account still counts: {html}"
    );
    assert!(html.contains(r#"<dd id="users-new">3</dd>"#), "{html}");
    // The admin's two (API and console), ada's and bob's, and one refused password.
    assert!(html.contains(r#"<dd id="logins">4</dd>"#), "{html}");
    assert!(html.contains(r#"<dd id="failed-logins">1</dd>"#), "{html}");
    for state in [
        "PENDING", "STARTED", "SUCCESS", "FAILURE", "RETRY", "REVOKED",
    ] {
        assert!(html.contains(&format!(">{state}</a>")), "{state}: {html}");
    }
}

async fn users_are_searched_filtered_and_paged(app: TestApp) {
    let console = Console::admin(&app, &format!("boss{}", tag())).await;
    let needle = tag();
    for n in 0..12 {
        let email = format!("{needle}{n}@example.com");
        let username = format!("u{n}x{needle}");
        assert_eq!(
            app.register(&email, &username).await.status(),
            StatusCode::CREATED
        );
    }
    // Search by a piece of the email or the username, ignoring case.
    let upper = needle.to_uppercase();
    let (status, html) = console
        .page(&format!("/admin/users?search={upper}&role=user"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"<label for="search">Search</label>"#));
    assert_eq!(
        html.matches(&format!("x{needle}</td>")).count(),
        12,
        "{html}"
    );
    let (_, html) = console
        .page(&format!("/admin/users?search=u7x{needle}"))
        .await;
    assert_eq!(
        html.matches(&format!("x{needle}</td>")).count(),
        1,
        "{html}"
    );
    let (_, html) = console
        .page(&format!("/admin/users?search={needle}&role=admin"))
        .await;
    assert!(html.contains("No users match."), "{html}");
    let (_, html) = console
        .page(&format!("/admin/users?search={needle}&verified=yes"))
        .await;
    assert!(html.contains("No users match."), "{html}");
    // 25 to a page: a wider search pages; the next page keeps the filter.
    for n in 12..30 {
        let email = format!("{needle}{n}@example.com");
        let username = format!("u{n}x{needle}");
        app.register(&email, &username).await;
    }
    let (_, first) = console
        .page(&format!("/admin/users?search={needle}&active=yes"))
        .await;
    assert_eq!(first.matches(&format!("x{needle}</td>")).count(), 25);
    let marker = r#"<a href=""#;
    let older = first
        .match_indices(marker)
        .map(|(at, _)| &first[at + marker.len()..])
        .find_map(|rest| {
            let link = &rest[..rest.find('"').unwrap()];
            link.contains("cursor=")
                .then(|| link.replace("&#38;", "&").replace("&amp;", "&"))
        })
        .expect("a link to the next page");
    assert!(older.contains(&format!("search={needle}")), "{older}");
    let (status, second) = console.page(&older).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(second.matches(&format!("x{needle}</td>")).count(), 5);
    let (status, bad) = console.page("/admin/users?role=root").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("That did not work"), "{bad}");
}

async fn an_admin_edits_deactivates_and_reactivates_a_user(app: TestApp) {
    let console = Console::admin(&app, &format!("boss{}", tag())).await;
    let name = format!("ed{}", tag());
    let login = app.signed_up_user(&name).await;
    let access = token(&login, "access_token");
    let id = user_id(&app, &access).await;
    let path = format!("/admin/users/{id}");
    let (status, html) = console.page(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(">Deactivate</button>"), "{html}");
    // Names, role, permissions and the verified flag in one form; markup stays text.
    let (_, html) = console
        .act(
            &path,
            &[
                ("first_name", "<script>alert(1)</script>"),
                ("last_name", "Lovelace"),
                ("role", "user"),
                ("permissions", "can_view_users"),
                ("permissions", "can_create_user"),
                ("is_verified", "on"),
            ],
        )
        .await;
    assert!(html.contains("Saved."), "{html}");
    assert!(!html.contains("<script>alert(1)</script>"), "{html}");
    let me: serde_json::Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["first_name"], "<script>alert(1)</script>");
    assert_eq!(me["is_verified"], true);
    let mut permissions: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    permissions.sort_unstable();
    assert_eq!(permissions, ["can_create_user", "can_view_users"]);
    // Another admin promotes the user meanwhile; a save from the page opened before that
    // changes the name and leaves the promotion alone.
    let other = app.signed_in_admin(&format!("other{}", tag())).await;
    let promoted = app
        .with_token(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &token(&other, "access_token"),
        )
        .json(&serde_json::json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(promoted.status(), StatusCode::OK);
    let stale = [
        ("first_name", "Ada"),
        ("was_first_name", "<script>alert(1)</script>"),
        ("last_name", "Lovelace"),
        ("was_last_name", "Lovelace"),
        ("role", "user"),
        ("was_role", "user"),
        ("permissions", "can_view_users"),
        ("permissions", "can_create_user"),
        ("was_permissions", "can_view_users"),
        ("was_permissions", "can_create_user"),
        ("is_verified", "on"),
        ("was_verified", "on"),
    ];
    console.act(&path, &stale).await;
    let login = app.login(&format!("{name}@example.com"), PASSWORD).await;
    let me: serde_json::Value = login.json().await.unwrap();
    assert_eq!(
        me["user"]["role"], "admin",
        "the other admin's change stands"
    );
    assert_eq!(me["user"]["first_name"], "Ada");
    let access = token(&me, "access_token");
    // Deactivate: the user's credentials stop at once; the page offers Activate.
    let (_, html) = console.act(&format!("{path}/deactivate"), &[]).await;
    assert!(html.contains("The user is deactivated"), "{html}");
    assert!(html.contains(">Activate</button>"), "{html}");
    assert_eq!(app.me(&access).await.status(), StatusCode::UNAUTHORIZED);
    // The audit log, filtered by type and by the user's email, shows it.
    let (_, log) = console
        .page(&format!(
            "/admin/audit?type=user_deactivated&user={name}%40example.com"
        ))
        .await;
    assert!(log.contains("<td>user_deactivated</td>"), "{log}");
    assert!(log.contains(&id), "{log}");
    let (_, html) = console.act(&format!("{path}/activate"), &[]).await;
    assert!(html.contains("The user is active again."), "{html}");
    assert_eq!(
        app.login(&format!("{name}@example.com"), PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
    // The user's own page lists its audit trail.
    assert!(html.contains("<td>user_reactivated</td>"), "{html}");
    assert!(html.contains("<td>profile_updated</td>"), "{html}");
}

async fn an_admin_creates_a_user_adjusts_credits_and_signs_them_out(app: TestApp) {
    let console = Console::admin(&app, &format!("boss{}", tag())).await;
    let (status, form) = console.page("/admin/users/new").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains(r#"<label for="email">Email</label>"#));
    let name = format!("new{}", tag());
    let email = format!("{name}@example.com");
    let (location, html) = console
        .act(
            "/admin/users",
            &[
                ("email", &email),
                ("username", &name),
                ("password", PASSWORD),
                ("first_name", "Grace"),
                ("last_name", ""),
                ("role", "user"),
            ],
        )
        .await;
    assert!(html.contains("Created."), "{html}");
    let id = id_in(&location);
    let path = format!("/admin/users/{id}");
    let (_, html) = console
        .act(
            &format!("{path}/credits"),
            &[("amount", "50"), ("reason", "welcome")],
        )
        .await;
    assert!(html.contains(r#"<dd id="user-credits">50</dd>"#), "{html}");
    // Spending more than there is, or typing a word, is refused on a page that says so.
    let overdraft = console
        .submit(
            &format!("{path}/credits"),
            &[("amount", "-80"), ("reason", "oops")],
        )
        .await;
    assert!(overdraft.status().is_client_error());
    let word = console
        .submit(
            &format!("{path}/credits"),
            &[("amount", "fifty"), ("reason", "x")],
        )
        .await;
    assert_eq!(word.status(), StatusCode::BAD_REQUEST);
    let extreme = console
        .submit(
            &format!("{path}/credits"),
            &[("amount", "-9223372036854775808"), ("reason", "x")],
        )
        .await;
    assert_eq!(extreme.status(), StatusCode::BAD_REQUEST);
    assert!(
        word.text()
            .await
            .unwrap()
            .contains("amount: must be a whole number")
    );
    // Duplicate accounts are refused with the reason.
    let again = console
        .submit(
            "/admin/users",
            &[
                ("email", &email),
                ("username", &name),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert!(again.status().is_client_error(), "{}", again.status());
    // Revoke sessions and devices: the user's tokens die.
    let login: serde_json::Value = app.login(&email, PASSWORD).await.json().await.unwrap();
    let access = token(&login, "access_token");
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);
    let (_, html) = console.act(&format!("{path}/sign-out"), &[]).await;
    assert!(
        html.contains("Every session and token of the user ended"),
        "{html}"
    );
    assert_eq!(app.me(&access).await.status(), StatusCode::UNAUTHORIZED);
    let refreshed = app.refresh(&token(&login, "refresh_token")).await;
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
    let (_, html) = console.act(&format!("{path}/mfa-reset"), &[]).await;
    assert!(
        html.contains("Every second factor of the user is removed"),
        "{html}"
    );
    assert!(html.contains("<td>mfa_reset</td>"), "{html}");
    // Ids that are not ids, and actions that do not exist, are pages that do not exist.
    assert_eq!(
        console
            .submit("/admin/users/nope/deactivate", &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        console
            .submit(&format!("{path}/explode"), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(
        console.page(&format!("/admin/users/{unknown}")).await.0,
        StatusCode::NOT_FOUND
    );
}

/// Every console action refuses a request without the session's CSRF token, from another
/// origin, from a non-admin, and sends anonymous visitors to sign in.
async fn every_action_needs_csrf_and_an_admin(app: TestApp) {
    let console = Console::admin(&app, &format!("boss{}", tag())).await;
    let name = format!("pl{}", tag());
    let plain_login = app.signed_up_user(&name).await;
    let target = user_id(&app, &token(&plain_login, "access_token")).await;
    let plain = Console::of(&app, &name).await;
    let job = uuid::Uuid::new_v4();
    let thing = uuid::Uuid::new_v4();
    let actions = [
        "/admin/users".to_owned(),
        format!("/admin/users/{target}"),
        format!("/admin/users/{target}/deactivate"),
        format!("/admin/users/{target}/activate"),
        format!("/admin/users/{target}/sign-out"),
        format!("/admin/users/{target}/mfa-reset"),
        format!("/admin/users/{target}/credits"),
        "/admin/catalog/categories".to_owned(),
        format!("/admin/catalog/categories/{thing}"),
        format!("/admin/catalog/categories/{thing}/delete"),
        "/admin/catalog/products".to_owned(),
        format!("/admin/catalog/products/{thing}"),
        format!("/admin/catalog/products/{thing}/delete"),
        "/admin/pre-registrations/export".to_owned(),
        format!("/admin/jobs/{job}/retry"),
        format!("/admin/jobs/{job}/revoke"),
    ];
    for action in &actions {
        let missing = console.post_raw(action, &[("amount", "5")]).await;
        assert_eq!(
            missing.status(),
            StatusCode::FORBIDDEN,
            "{action} without a token"
        );
        let wrong = console
            .post_raw(action, &[("csrf_token", "forged"), ("amount", "5")])
            .await;
        assert_eq!(
            wrong.status(),
            StatusCode::FORBIDDEN,
            "{action} with a forged token"
        );
        let foreign = browser()
            .post(app.url(action))
            .header("Cookie", cookies(&console.session, &console.csrf))
            .header("Origin", "https://evil.example")
            .form(&[("csrf_token", console.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(
            foreign.status(),
            StatusCode::FORBIDDEN,
            "{action} cross-site"
        );
        let refused = plain.submit(action, &[("amount", "5")]).await;
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "{action} by a non-admin"
        );
        let anonymous = browser()
            .post(app.url(action))
            .form(&[("csrf_token", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            anonymous.status(),
            StatusCode::SEE_OTHER,
            "{action} anonymous"
        );
        assert_eq!(anonymous.headers()[LOCATION], "/admin/login");
    }
    // Nothing happened to the target.
    let me = app.me(&token(&plain_login, "access_token")).await;
    assert_eq!(me.status(), StatusCode::OK);
    for page in [
        "/admin/",
        "/admin/users",
        "/admin/users/new",
        "/admin/catalog",
        "/admin/pre-registrations",
        "/admin/audit",
        "/admin/jobs",
    ] {
        let (status, html) = plain.page(page).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{page}");
        assert!(html.contains("Not allowed"), "{page}");
        let (status, html) = console.page(page).await;
        assert_eq!(status, StatusCode::OK, "{page}: {html}");
        assert!(html.contains(">Audit log</a>"), "{page}");
    }
}

async fn an_admin_keeps_the_catalog(app: TestApp) {
    let console = Console::admin(&app, &format!("boss{}", tag())).await;
    let name = format!("<b>Tools {}</b>", tag());
    let (location, html) = console
        .act(
            "/admin/catalog/categories",
            &[("name", &name), ("description", "hand tools")],
        )
        .await;
    assert!(html.contains("Created."), "{html}");
    assert!(!html.contains(&name), "markup is escaped: {html}");
    let category = id_in(&location);
    let (location, html) = console
        .act(
            "/admin/catalog/products",
            &[
                ("name", "Hammer"),
                ("description", "steel"),
                ("price", "12.50"),
                ("category", &category),
            ],
        )
        .await;
    assert!(html.contains("12.50"), "{html}");
    let product = id_in(&location);
    let api: serde_json::Value = app
        .get(&format!("/api/v1/products/{product}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["name"], "Hammer");
    let (_, html) = console
        .act(
            &format!("/admin/catalog/products/{product}"),
            &[
                ("name", "Claw hammer"),
                ("description", "steel"),
                ("price", "14.00"),
                ("category", &category),
            ],
        )
        .await;
    assert!(
        html.contains("Saved.") && html.contains("Claw hammer"),
        "{html}"
    );
    let bad_price = console
        .submit(
            &format!("/admin/catalog/products/{product}"),
            &[
                ("name", "x"),
                ("description", ""),
                ("price", "free"),
                ("category", &category),
            ],
        )
        .await;
    assert_eq!(bad_price.status(), StatusCode::BAD_REQUEST);
    // A category with products cannot go; without them it can.
    let busy = console
        .submit(&format!("/admin/catalog/categories/{category}/delete"), &[])
        .await;
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    let (_, html) = console
        .act(&format!("/admin/catalog/products/{product}/delete"), &[])
        .await;
    assert!(html.contains("Deleted."), "{html}");
    console
        .act(&format!("/admin/catalog/categories/{category}/delete"), &[])
        .await;
    assert_eq!(
        app.get(&format!("/api/v1/categories/{category}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let (_, log) = console.page("/admin/audit?type=catalog_changed").await;
    assert!(log.contains("action=deleted"), "{log}");
}

async fn pre_registrations_are_listed_and_exported(app: TestApp) {
    let console = Console::admin(&app, &format!("boss{}", tag())).await;
    let marker = tag();
    for n in 0..3 {
        let email = format!("wait{n}{marker}@example.com");
        let response = app
            .post_json(
                "/api/v1/pre-registrations",
                &serde_json::json!({"email": email}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let (status, html) = console.page("/admin/pre-registrations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(">Export CSV</button>"), "{html}");
    let export = console.submit("/admin/pre-registrations/export", &[]).await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let csv = export.text().await.unwrap();
    assert!(csv.starts_with("email,created_at\r\n"), "{csv}");
    for n in 0..3 {
        assert!(
            csv.contains(&format!("wait{n}{marker}@example.com,")),
            "{csv}"
        );
    }
    let (_, log) = console
        .page("/admin/audit?type=pre_registrations_exported")
        .await;
    assert!(log.contains("rows="), "{log}");
}

/// The audit log's filters: type, user (id or email), dates; a bad date is refused.
async fn the_audit_log_filters_by_type_user_and_date(app: TestApp) {
    let console = Console::admin(&app, &format!("boss{}", tag())).await;
    let name = format!("au{}", tag());
    app.signed_up_user(&name).await;
    let today = time::OffsetDateTime::now_utc().date();
    let (status, html) = console
        .page(&format!(
            "/admin/audit?type=login_succeeded&user={name}%40example.com&from={today}&to={today}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<td>login_succeeded</td>"), "{html}");
    assert!(!html.contains("<td>user_registered</td>"), "{html}");
    let tomorrow = today.next_day().unwrap();
    let (_, html) = console
        .page(&format!(
            "/admin/audit?user={name}%40example.com&from={tomorrow}"
        ))
        .await;
    assert!(html.contains("No events."), "{html}");
    let (status, html) = console.page("/admin/audit?from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("from: must be a date"), "{html}");
    // Dates no database stores are refused, not sent to it.
    for extreme in ["to=0000-01-01", "from=9999-12-31", "to=1969-12-31"] {
        let (status, _) = console.page(&format!("/admin/audit?{extreme}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extreme}");
    }
    let (status, _) = console.page("/admin/audit?user=nobody%40example.com").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// A failed job is retried (the same job, attempts grow) and a running one revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_retried_and_a_running_one_revoked() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::embedded_with(&[
        ("GATEHOUSE_SMTP_URL", smtp.as_str()),
        ("GATEHOUSE_JOB_MAX_ATTEMPTS", "2"),
    ])
    .await;
    let console = Console::admin(&app, "chief").await;
    assert_eq!(
        app.register("ada@example.com", "ada").await.status(),
        StatusCode::CREATED
    );
    let failed = wait_for_job(&console, "FAILURE", 2).await;
    let path = format!("/admin/jobs/{failed}");
    let (_, html) = console.page(&path).await;
    assert!(html.contains(">Retry</button>"), "{html}");
    assert!(
        html.contains("send_email") && html.contains("SMTP"),
        "{html}"
    );
    let (_, html) = console.act(&format!("{path}/retry"), &[]).await;
    assert!(html.contains("The job is back in the queue."), "{html}");
    // The same job ran again: one more attempt, failed again (SMTP is still down).
    assert_eq!(wait_for_job(&console, "FAILURE", 3).await, failed);
    let again = console.submit(&format!("{path}/retry"), &[]).await;
    assert_eq!(
        again.status(),
        StatusCode::SEE_OTHER,
        "a failed job retries again"
    );
    wait_for_job(&console, "FAILURE", 4).await;
    let (_, log) = console.page("/admin/audit?type=job_retried").await;
    assert_eq!(log.matches("<td>job_retried</td>").count(), 2, "{log}");
    // A running task is revoked; a finished one cannot be retried or revoked.
    let login = app.signed_up_user("bob").await;
    let task: serde_json::Value = app
        .with_token(
            reqwest::Method::POST,
            "/api/v1/tasks",
            &token(&login, "access_token"),
        )
        .json(&serde_json::json!({"type": "long_running", "seconds": 600}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let task = task["id"].as_str().unwrap().to_owned();
    let (_, html) = console
        .act(&format!("/admin/jobs/{task}/revoke"), &[])
        .await;
    assert!(
        html.contains(r#"<dd id="job-status">REVOKED</dd>"#),
        "{html}"
    );
    for action in ["retry", "revoke"] {
        let refused = console
            .submit(&format!("/admin/jobs/{task}/{action}"), &[])
            .await;
        assert_eq!(refused.status(), StatusCode::CONFLICT, "{action}");
    }
    let (_, list) = console
        .page("/admin/jobs?status=REVOKED&kind=long_running")
        .await;
    assert!(list.contains(&task), "{list}");
    assert!(!list.contains(&failed), "{list}");
    let (status, _) = console.page("/admin/jobs?status=LOST").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Waits until the console lists a job in `status` with `attempts`; its id.
async fn wait_for_job(console: &Console<'_>, status: &str, attempts: u32) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, html) = console
            .page(&format!("/admin/jobs?status={status}&kind=send_email"))
            .await;
        let row = format!("<td>{status}</td>\n      <td>{attempts}</td>");
        if let Some(at) = html.find(&row) {
            let before = &html[..at];
            let marker = r#"<a href="/admin/jobs/"#;
            let start = before.rfind(marker).unwrap() + marker.len();
            return before[start..start + 36].to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {status} job with {attempts} attempts: {html}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

crate::on_every_backend!(
    anonymous_visitors_are_sent_to_sign_in,
    an_admin_signs_in_sees_the_dashboard_and_signs_out,
    non_admins_are_refused_right_after_sign_in,
    wrong_passwords_and_typed_markup_come_back_escaped,
    an_admin_with_an_authenticator_app_signs_in_in_two_steps,
    users_are_searched_filtered_and_paged,
    an_admin_edits_deactivates_and_reactivates_a_user,
    an_admin_creates_a_user_adjusts_credits_and_signs_them_out,
    every_action_needs_csrf_and_an_admin,
    an_admin_keeps_the_catalog,
    pre_registrations_are_listed_and_exported,
    the_audit_log_filters_by_type_user_and_date,
);
