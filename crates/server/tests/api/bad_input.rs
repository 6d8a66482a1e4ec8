use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, token};

async fn malformed_bodies_get_a_clear_4xx(app: TestApp) {
    let send = |content_type: &'static str, body: Vec<u8>| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_error(
        send("application/json", b"{not json".to_vec())
            .await
            .unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        send("application/json", b"".to_vec()).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_error(
        send("text/plain", b"{}".to_vec()).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let huge = format!(
        "{{\"email\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(1_100_000)
    );
    assert_error(
        send("application/json", huge.into_bytes()).await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    // Well-formed JSON with the wrong shape.
    for body in [
        json!({"password": 5, "email": "a@b.co"}),
        json!({"email": "a@b.co"}),
        json!([1, 2]),
    ] {
        let response = app.post_json("/api/v1/auth/login", &body).await;
        assert!(
            response.status().is_client_error(),
            "{body}: {}",
            response.status()
        );
        assert!(response.json::<serde_json::Value>().await.unwrap()["code"].is_string());
    }
    assert_error(
        app.post_json("/api/v1/auth/login", &json!({"password": "x"}))
            .await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    // A missing field is reported under its own name.
    let partial =
        json!({"email": "x@example.com", "username": "xyz", "password": "violet-tractor-42"});
    let body = assert_error(
        app.post_json("/api/v1/auth/register", &partial).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    assert_eq!(
        body["details"]["password_confirm"][0],
        "this field is required"
    );
}

async fn huge_values_are_refused_not_crashed_on(app: TestApp) {
    let long = "a".repeat(200_000);
    let body = json!({"email": format!("{long}@example.com"), "username": long, "password": long, "password_confirm": long});
    let error = assert_error(
        app.post_json("/api/v1/auth/register", &body).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    for field in ["email", "username", "password"] {
        assert!(error["details"][field].is_array(), "{field}");
    }
    let numbers = r#"{"email": 1e999999, "username": 123456789012345678901234567890, "password": -1, "password_confirm": null}"#;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body(numbers)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
}

async fn unknown_routes_and_wrong_methods_answer_in_json(app: TestApp) {
    let missing = app.get("/api/v1/nothing-here").await;
    assert_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    let wrong_method = app.get("/api/v1/auth/login").await;
    assert_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let wrong_method = app
        .client
        .delete(app.url("/api/v1/users/me"))
        .send()
        .await
        .unwrap();
    assert_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

/// A body field sent twice is refused, not resolved to one of its copies: a proxy or a log
/// that reads the first copy must see what the server acts on.
/// A login whose JSON body is written out as text (what `json!` cannot produce).
async fn login_with_text(app: &TestApp, body: String) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn a_repeated_field_is_refused(app: TestApp) {
    app.signed_up_user("twice").await;
    let body = format!(
        r#"{{"email":"nobody@example.com","email":"twice@example.com","password":"{PASSWORD}"}}"#
    );
    let response = login_with_text(&app, body).await;
    assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
    let login = app.login("twice@example.com", PASSWORD).await;
    let access = token(&login.json().await.unwrap(), "access_token");
    let nested = app
        .client
        .patch(app.url("/api/v1/users/me"))
        .bearer_auth(&access)
        .header("content-type", "application/json")
        .body(r#"{"notification_preferences":{"security_emails":true,"security_emails":false}}"#)
        .send()
        .await
        .unwrap();
    assert_error(nested, StatusCode::BAD_REQUEST, "validation_error").await;
}

/// A field the endpoint does not read is still JSON that must parse: a number out of range
/// or a lone surrogate there is `invalid_json`, not skipped over.
async fn fields_nobody_reads_must_still_be_valid_json(app: TestApp) {
    app.signed_up_user("unread").await;
    for junk in ["1e400", r#""\ud800""#] {
        let body =
            format!(r#"{{"email":"unread@example.com","password":"{PASSWORD}","junk":{junk}}}"#);
        let response = login_with_text(&app, body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    }
}

/// Signs `email` in afresh: its access and refresh tokens.
async fn fresh_tokens(app: &TestApp, email: &str) -> (String, String) {
    let login: serde_json::Value = app.login(email, PASSWORD).await.json().await.unwrap();
    (
        token(&login, "access_token"),
        token(&login, "refresh_token"),
    )
}

/// A logout with this refresh header and this body (content type, text).
async fn logout(app: &TestApp, access: &str, header: &str, body: (&str, String)) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(access)
        .header("X-Refresh-Token", header)
        .header("content-type", body.0)
        .body(body.1)
        .send()
        .await
        .unwrap()
        .status()
}

/// Whether `refresh` still refreshes.
async fn refreshes(app: &TestApp, refresh: &str) -> bool {
    let response = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": refresh }))
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::OK
}

/// The refresh token in its header is enough: a body that is not JSON does not stop a logout
/// from revoking both tokens; a JSON body must be an object (400 before anything is revoked,
/// as the document says); a blank header is no header.
async fn a_logout_with_the_refresh_header_ignores_a_body_that_is_not_json(app: TestApp) {
    app.signed_up_user("stray").await;
    let (_, refresh) = fresh_tokens(&app, "stray@example.com").await;
    let array = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!([refresh]))
        .send()
        .await
        .unwrap();
    assert_error(array, StatusCode::BAD_REQUEST, "validation_error").await;

    for body in [
        ("text/plain", "bye"),
        ("application/x-www-form-urlencoded", "x=1"),
    ] {
        let (access, refresh) = fresh_tokens(&app, "stray@example.com").await;
        let stray = (body.0, body.1.to_owned());
        assert_eq!(
            logout(&app, &access, &refresh, stray).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(app.me(&access).await.status(), StatusCode::UNAUTHORIZED);
        assert!(!refreshes(&app, &refresh).await, "{body:?}");
    }
    let (access, refresh) = fresh_tokens(&app, "stray@example.com").await;
    let not_an_object = ("application/json", "19543".to_owned());
    assert_eq!(
        logout(&app, &access, &refresh, not_an_object).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.me(&access).await.status(),
        StatusCode::OK,
        "refused, so nothing revoked"
    );

    let named = (
        "application/json",
        json!({ "refresh_token": refresh }).to_string(),
    );
    assert_eq!(
        logout(&app, &access, "", named).await,
        StatusCode::NO_CONTENT
    );
    assert!(
        !refreshes(&app, &refresh).await,
        "a blank header is no header"
    );
}

crate::on_every_backend!(
    a_repeated_field_is_refused,
    fields_nobody_reads_must_still_be_valid_json,
    a_logout_with_the_refresh_header_ignores_a_body_that_is_not_json,
    malformed_bodies_get_a_clear_4xx,
    huge_values_are_refused_not_crashed_on,
    unknown_routes_and_wrong_methods_answer_in_json,
);
