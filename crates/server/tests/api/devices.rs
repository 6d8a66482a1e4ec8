use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, token};

async fn login_as(app: &TestApp, email: &str, user_agent: &str) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("User-Agent", user_agent)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn devices(app: &TestApp, access: &str) -> Vec<Value> {
    let response = app
        .client
        .get(app.url("/api/v1/users/me/devices"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["results"].as_array().unwrap().clone()
}

async fn revoke(app: &TestApp, access: &str, id: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/v1/users/me/devices/{id}")))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

async fn logins_are_recorded_per_user_agent_with_the_current_one_marked(app: TestApp) {
    assert_eq!(
        app.register("dev@example.com", "dev").await.status(),
        StatusCode::CREATED
    );
    let phone = login_as(&app, "dev@example.com", "Phone/1.0").await;
    let laptop = login_as(&app, "dev@example.com", "Laptop/2.0").await;
    login_as(&app, "dev@example.com", "Phone/1.0").await;

    let listed = devices(&app, &token(&laptop, "access_token")).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let agents: Vec<&str> = listed
        .iter()
        .map(|d| d["user_agent"].as_str().unwrap())
        .collect();
    assert_eq!(
        agents,
        vec!["Phone/1.0", "Laptop/2.0"],
        "most recently seen first"
    );
    let current: Vec<bool> = listed
        .iter()
        .map(|d| d["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, vec![false, true]);
    for device in &listed {
        assert!(
            device["ip"]
                .as_str()
                .is_some_and(|ip| ip == "127.0.0.1" || ip == "::1"),
            "{device}"
        );
        assert!(device["first_seen_at"].is_string() && device["last_seen_at"].is_string());
    }
    let from_phone = devices(&app, &token(&phone, "access_token")).await;
    assert_eq!(
        from_phone.iter().filter(|d| d["current"] == true).count(),
        1
    );
}

async fn revoking_a_device_ends_its_tokens_and_sessions_only(app: TestApp) {
    assert_eq!(
        app.register("two@example.com", "two").await.status(),
        StatusCode::CREATED
    );
    let phone = login_as(&app, "two@example.com", "Phone/1.0").await;
    let laptop = login_as(&app, "two@example.com", "Laptop/2.0").await;
    let phone_session = app
        .client
        .post(app.url("/api/v1/sessions"))
        .header("User-Agent", "Phone/1.0")
        .json(&json!({"username": "two", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let (session, _) = crate::helpers::set_cookie(&phone_session, "gatehouse_session").unwrap();
    let (csrf, _) = crate::helpers::set_cookie(&phone_session, "gatehouse_csrf").unwrap();
    let browser = crate::helpers::Browser { session, csrf };

    let laptop_access = token(&laptop, "access_token");
    let listed = devices(&app, &laptop_access).await;
    let phone_id = listed
        .iter()
        .find(|d| d["user_agent"] == "Phone/1.0")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        revoke(&app, &laptop_access, &phone_id).await.status(),
        StatusCode::NO_CONTENT
    );

    assert_error(
        app.me(&token(&phone, "access_token")).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert_error(
        app.refresh(&token(&phone, "refresh_token")).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert_eq!(app.current_session(&browser).await["authenticated"], false);
    assert_eq!(app.me(&laptop_access).await.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(&token(&laptop, "refresh_token")).await.status(),
        StatusCode::OK
    );
    assert_eq!(devices(&app, &laptop_access).await.len(), 1);
}

async fn only_ones_own_devices_can_be_revoked(app: TestApp) {
    let mine = app.signed_up_user("owner").await;
    let theirs = app.signed_up_user("other").await;
    let their_device = devices(&app, &token(&theirs, "access_token")).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let access = token(&mine, "access_token");
    assert_error(
        revoke(&app, &access, &their_device).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        revoke(&app, &access, "00000000-0000-0000-0000-000000000000").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        revoke(&app, &access, "not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;
    assert_eq!(
        app.me(&token(&theirs, "access_token")).await.status(),
        StatusCode::OK
    );
    let anonymous = app
        .client
        .get(app.url("/api/v1/users/me/devices"))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

crate::on_every_backend!(
    logins_are_recorded_per_user_agent_with_the_current_one_marked,
    revoking_a_device_ends_its_tokens_and_sessions_only,
    only_ones_own_devices_can_be_revoked,
);
