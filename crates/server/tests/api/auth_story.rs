use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error, token};

/// register -> login -> me -> refresh -> reuse detected -> logout.
async fn the_whole_token_story(app: TestApp) {
    let response = app.register("Jane@Example.com", "jane").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], "jane@example.com");
    assert_eq!(body["user"]["role"], "user");
    assert_eq!(body["user"]["is_verified"], false);
    assert!(body["user"].get("password_hash").is_none() && body["user"].get("password").is_none());

    // Login by email (any case) or by username.
    let by_username = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "JANE", "password": PASSWORD}),
        )
        .await;
    assert_eq!(by_username.status(), StatusCode::OK);
    let login: serde_json::Value = app
        .login("JANE@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 900);
    assert_eq!(login["user"]["username"], "jane");
    let (access, refresh) = (
        token(&login, "access_token"),
        token(&login, "refresh_token"),
    );

    let me: serde_json::Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["email"], "jane@example.com");

    // Rotation: a new pair; the old refresh token is dead from now on.
    let rotated = app.refresh(&refresh).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: serde_json::Value = rotated.json().await.unwrap();
    let (access2, refresh2) = (
        token(&rotated, "access_token"),
        token(&rotated, "refresh_token"),
    );
    assert_ne!(refresh2, refresh);
    assert_eq!(app.me(&access2).await.status(), StatusCode::OK);

    // Reuse of the rotated token is theft: 401 and the descendant dies too.
    assert_error(
        app.refresh(&refresh).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert_error(
        app.refresh(&refresh2).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;

    // Logout from a fresh login: both its tokens die at once.
    let fresh: serde_json::Value = app
        .login("jane@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let (access3, refresh3) = (
        token(&fresh, "access_token"),
        token(&fresh, "refresh_token"),
    );
    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&access3)
        .json(&json!({"refresh_token": refresh3}))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_error(
        app.me(&access3).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert_error(
        app.refresh(&refresh3).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    // Other sessions are untouched by a single logout.
    assert_eq!(app.me(&access2).await.status(), StatusCode::OK);
}

async fn logout_all_revokes_every_token_and_a_new_login_works_at_once(app: TestApp) {
    let first = app.signed_up_user("sam").await;
    let second: serde_json::Value = app
        .login("sam@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let response = app.logout_all(&token(&first, "access_token")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for body in [&first, &second] {
        assert_error(
            app.me(&token(body, "access_token")).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
        assert_error(
            app.refresh(&token(body, "refresh_token")).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
    }
    let again: serde_json::Value = app
        .login("sam@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.me(&token(&again, "access_token")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.refresh(&token(&again, "refresh_token")).await.status(),
        StatusCode::OK
    );
}

async fn wrong_password_and_unknown_user_look_the_same(app: TestApp) {
    app.signed_up_user("kim").await;
    let wrong = assert_error(
        app.login("kim@example.com", "not-the-password-9").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_error(
        app.login("nobody@example.com", "not-the-password-9").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong["error"], unknown["error"]);
    let bad_email = app.login("not an email", "x").await;
    assert_error(bad_email, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

async fn registration_enforces_uniqueness_and_the_password_policy(app: TestApp) {
    assert_eq!(
        app.register("lee@example.com", "lee").await.status(),
        StatusCode::CREATED
    );
    let taken = assert_error(
        app.register("LEE@example.com", "lee2").await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(taken["details"]["email"].is_array(), "{taken}");
    let taken = assert_error(
        app.register("lee2@example.com", "LEE").await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert!(taken["details"]["username"].is_array(), "{taken}");

    for (password, why) in [
        ("short", "too short"),
        ("password", "common"),
        ("1234567890123", "numeric"),
        ("lee.smith.example", "like the email"),
    ] {
        let body = json!({"email": "lee.smith@example.com", "username": "leesmith", "password": password, "password_confirm": password});
        let error = assert_error(
            app.post_json("/api/v1/auth/register", &body).await,
            StatusCode::BAD_REQUEST,
            "validation_error",
        )
        .await;
        assert!(error["details"]["password"].is_array(), "{why}: {error}");
    }
    // 73 bytes is refused, never truncated.
    let long = "x".repeat(73);
    let body = json!({"email": "long@example.com", "username": "long", "password": long, "password_confirm": long});
    assert_error(
        app.post_json("/api/v1/auth/register", &body).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    let body = json!({"email": "mis@example.com", "username": "mis", "password": PASSWORD, "password_confirm": "different-one-42"});
    let error = assert_error(
        app.post_json("/api/v1/auth/register", &body).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    assert!(error["details"]["password_confirm"].is_array(), "{error}");
}

crate::on_every_backend!(
    the_whole_token_story,
    logout_all_revokes_every_token_and_a_new_login_works_at_once,
    wrong_password_and_unknown_user_look_the_same,
    registration_enforces_uniqueness_and_the_password_policy,
);
