use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Browser, PASSWORD, TestApp, assert_error, set_cookie, token};

async fn delete_current(
    app: &TestApp,
    browser: &Browser,
    csrf: Option<&str>,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .delete(app.url("/api/v1/sessions/current"))
        .header("Cookie", browser.cookie_header());
    if let Some(csrf) = csrf {
        request = request.header("X-CSRF-Token", csrf);
    }
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    request.send().await.unwrap()
}

/// login -> cookies -> current -> me -> CSRF refusals -> logout -> replay refused.
async fn the_session_story(app: TestApp) {
    assert_eq!(
        app.register("sue@example.com", "sue").await.status(),
        StatusCode::CREATED
    );
    let response = app.session_login("sue", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let (session, attributes) = set_cookie(&response, "gatehouse_session").unwrap();
    assert!(attributes.contains("HttpOnly"), "{attributes}");
    assert!(attributes.contains("SameSite=Lax"), "{attributes}");
    assert!(
        !attributes.contains("Secure"),
        "development cookies are not Secure: {attributes}"
    );
    let (csrf, csrf_attributes) = set_cookie(&response, "gatehouse_csrf").unwrap();
    assert!(
        !csrf_attributes.contains("HttpOnly"),
        "scripts must read the CSRF cookie"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["username"], "sue");
    assert_eq!(body["csrf_token"], csrf.as_str());
    assert!(body["expires_at"].is_string());
    assert!(session.len() >= 22, "at least 128 bits of id: {session}");
    let browser = Browser { session, csrf };

    let current = app.current_session(&browser).await;
    assert_eq!(current["authenticated"], true);
    assert_eq!(current["user"]["email"], "sue@example.com");
    let me: Value = app
        .get_as(&browser, "/api/v1/users/me")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "sue");

    // Unsafe method with the cookie: CSRF token required, and right, and from this site.
    assert_error(
        delete_current(&app, &browser, None, None).await,
        StatusCode::FORBIDDEN,
        "csrf_failed",
    )
    .await;
    assert_error(
        delete_current(&app, &browser, Some("wrong"), None).await,
        StatusCode::FORBIDDEN,
        "csrf_failed",
    )
    .await;
    let foreign = delete_current(
        &app,
        &browser,
        Some(&browser.csrf),
        Some("https://evil.example"),
    )
    .await;
    assert_error(foreign, StatusCode::FORBIDDEN, "csrf_failed").await;
    assert_eq!(
        app.current_session(&browser).await["authenticated"],
        true,
        "refusals end nothing"
    );

    let own_origin = app.base.clone();
    let logout = delete_current(&app, &browser, Some(&browser.csrf), Some(&own_origin)).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let (cleared, cleared_attributes) = set_cookie(&logout, "gatehouse_session").unwrap();
    assert!(
        cleared.is_empty() && cleared_attributes.contains("Max-Age=0"),
        "{cleared_attributes}"
    );

    // Replaying the logged-out cookie opens nothing.
    assert_eq!(
        app.current_session(&browser).await,
        json!({"authenticated": false})
    );
    assert_error(
        app.get_as(&browser, "/api/v1/users/me").await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
}

async fn login_never_adopts_a_session_id_the_client_brings(app: TestApp) {
    let victim = app.signed_in_browser("fixated").await;
    // An attacker-chosen id is ignored: the server picks a new one.
    let planted = app
        .session_login("fixated", Some("attacker-chosen-id"))
        .await;
    let (fresh, _) = set_cookie(&planted, "gatehouse_session").unwrap();
    assert_ne!(fresh, "attacker-chosen-id");
    // Logging in again over a live session rotates it: the old id is dead.
    let again = app.session_login("fixated", Some(&victim.session)).await;
    let (rotated, _) = set_cookie(&again, "gatehouse_session").unwrap();
    assert_ne!(rotated, victim.session);
    assert_eq!(app.current_session(&victim).await["authenticated"], false);
}

async fn logout_all_ends_sessions_too_and_bearer_needs_no_csrf(app: TestApp) {
    let browser = app.signed_in_browser("both").await;
    let login: Value = app
        .login("both@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let response = app.logout_all(&token(&login, "access_token")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.current_session(&browser).await["authenticated"], false);
}

async fn cookie_logout_all_needs_csrf(app: TestApp) {
    let browser = app.signed_in_browser("cookieall").await;
    let post = |csrf: Option<String>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/auth/logout-all"))
            .header("Cookie", browser.cookie_header());
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        request.send()
    };
    assert_error(
        post(None).await.unwrap(),
        StatusCode::FORBIDDEN,
        "csrf_failed",
    )
    .await;
    assert_eq!(
        post(Some(browser.csrf.clone())).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.current_session(&browser).await["authenticated"], false);
}

async fn no_cookie_is_anonymous_and_delete_needs_a_session(app: TestApp) {
    let anonymous: Value = app
        .get("/api/v1/sessions/current")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(anonymous, json!({"authenticated": false}));
    let garbage = Browser {
        session: "garbage".into(),
        csrf: "x".into(),
    };
    assert_eq!(app.current_session(&garbage).await["authenticated"], false);
    let delete = app
        .client
        .delete(app.url("/api/v1/sessions/current"))
        .send()
        .await
        .unwrap();
    assert_error(delete, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    let wrong = app.session_login("nobody-here", None).await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

crate::on_every_backend!(
    the_session_story,
    login_never_adopts_a_session_id_the_client_brings,
    logout_all_ends_sessions_too_and_bearer_needs_no_csrf,
    cookie_logout_all_needs_csrf,
    no_cookie_is_anonymous_and_delete_needs_a_session,
);

/// Idle expiry and the absolute cap, with short lifetimes from configuration.
async fn sessions_expire_when_idle_and_at_the_absolute_cap(app: TestApp) {
    let idle = app.signed_in_browser("idler").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        app.current_session(&idle).await["authenticated"],
        false,
        "idle for longer than the TTL"
    );

    // Active every 600 ms (inside the 2 s idle window) but past the 4 s cap.
    let busy = app.signed_in_browser("busy").await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            app.current_session(&busy).await["authenticated"],
            true,
            "activity keeps it alive"
        );
    }
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        app.current_session(&busy).await["authenticated"],
        false,
        "past the absolute cap"
    );
}

const SHORT_SESSIONS: [(&str, &str); 2] = [
    ("GATEHOUSE_SESSION_TTL", "2"),
    ("GATEHOUSE_SESSION_ABSOLUTE_TTL", "4"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_sessions_expire_when_idle_and_at_the_absolute_cap() {
    sessions_expire_when_idle_and_at_the_absolute_cap(
        TestApp::embedded_with(&SHORT_SESSIONS).await,
    )
    .await;
}

#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_expire_when_idle_and_at_the_absolute_cap() {
    let Some(app) = TestApp::shared_with(&SHORT_SESSIONS).await else {
        return;
    };
    sessions_expire_when_idle_and_at_the_absolute_cap(app).await;
}
