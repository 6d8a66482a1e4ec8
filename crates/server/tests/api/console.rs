//! The admin console's first pages at the HTTP level: sign-in (with a second factor), the
//! admin gate, CSRF on forms, the security headers, and escaping of what users typed.

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

crate::on_every_backend!(
    anonymous_visitors_are_sent_to_sign_in,
    an_admin_signs_in_sees_the_dashboard_and_signs_out,
    non_admins_are_refused_right_after_sign_in,
    wrong_passwords_and_typed_markup_come_back_escaped,
    an_admin_with_an_authenticator_app_signs_in_in_two_steps,
);
