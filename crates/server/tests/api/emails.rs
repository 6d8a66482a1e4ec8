//! Email verification, password reset and sign-in notifications, through the real queue and
//! worker: the emails are read back from the development mailer's files (and, in
//! `smtp_delivery`, from a real SMTP server).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Mail, PASSWORD, TestApp, assert_error, token};

const NEW_PASSWORD: &str = "orange-bicycle-97";

async fn registration_verifies_once(app: TestApp) {
    assert_eq!(
        app.register("ada@example.com", "ada").await.status(),
        StatusCode::CREATED
    );
    let mail = app
        .wait_for_mail("ada@example.com", "Confirm your email")
        .await;
    let link = "http://127.0.0.1:8000/verify-email?token=";
    assert!(
        mail.text.contains(link) && mail.html.contains(link),
        "{mail:?}"
    );
    let verification = mail.token("verify-email");
    assert_eq!(verification.len(), 43, "256 random bits, base64url");

    let response = app
        .post_auth("verify-email", json!({"token": verification}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["is_verified"], json!(true));

    for used_or_bad in [verification.as_str(), "not-a-token", ""] {
        let response = app
            .post_auth("verify-email", json!({"token": used_or_bad}))
            .await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_token").await;
    }
    // A verified account gets no more verification emails.
    let response = app
        .post_auth("verify-email/resend", json!({"email": "ada@example.com"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let confirmations = app
        .mails()
        .into_iter()
        .filter(|m| m.subject.contains("Confirm"));
    assert_eq!(confirmations.count(), 1);
}

async fn password_reset_ends_every_old_credential(app: TestApp) {
    let login = app.signed_up_user("ada").await;
    let (access, refresh) = (
        token(&login, "access_token"),
        token(&login, "refresh_token"),
    );
    let response = app
        .post_auth("forgot-password", json!({"email": "ADA@example.com"}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let reset = app
        .wait_for_mail("ada@example.com", "Reset your password")
        .await
        .token("reset-password");

    // A rejected password leaves the link working.
    let weak = json!({"token": reset, "password": "12345678", "password_confirm": "12345678"});
    assert_error(
        app.post_auth("reset-password", weak).await,
        StatusCode::BAD_REQUEST,
        "validation_error",
    )
    .await;

    let good = json!({"token": reset, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD});
    assert_eq!(
        app.post_auth("reset-password", good.clone()).await.status(),
        StatusCode::OK
    );
    assert_error(
        app.post_auth("reset-password", good).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;

    assert_eq!(app.me(&access).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let old = app.login("ada@example.com", PASSWORD).await;
    assert_error(old, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(
        app.login("ada@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn a_password_change_kills_outstanding_reset_links(app: TestApp) {
    let login = app.signed_up_user("ada").await;
    app.post_auth("forgot-password", json!({"email": "ada@example.com"}))
        .await;
    let reset = app
        .wait_for_mail("ada@example.com", "Reset")
        .await
        .token("reset-password");
    let change = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD});
    let response = app
        .with_token(
            reqwest::Method::POST,
            "/api/v1/users/me/password",
            &token(&login, "access_token"),
        )
        .json(&change)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let body = json!({"token": reset, "password": "lemon-harbour-33", "password_confirm": "lemon-harbour-33"});
    assert_error(
        app.post_auth("reset-password", body).await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
}

async fn a_locked_out_owner_can_still_reset(app: TestApp) {
    app.signed_up_user("ada").await;
    for _ in 0..10 {
        app.login("ada@example.com", "wrong-password-1").await;
    }
    let locked = app.login("ada@example.com", PASSWORD).await;
    assert_error(locked, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    app.post_auth("forgot-password", json!({"email": "ada@example.com"}))
        .await;
    let reset = app
        .wait_for_mail("ada@example.com", "Reset")
        .await
        .token("reset-password");
    let body = json!({"token": reset, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD});
    assert_eq!(
        app.post_auth("reset-password", body).await.status(),
        StatusCode::OK
    );
    // The reset proved ownership: the lockout is lifted.
    assert_eq!(
        app.login("ada@example.com", NEW_PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn unknown_addresses_look_like_known_ones(app: TestApp) {
    assert_eq!(
        app.register("ada@example.com", "ada").await.status(),
        StatusCode::CREATED
    );
    for path in ["forgot-password", "verify-email/resend"] {
        let known = app
            .post_auth(path, json!({"email": "ada@example.com"}))
            .await;
        let unknown = app
            .post_auth(path, json!({"email": "ghost@example.com"}))
            .await;
        assert_eq!(known.status(), StatusCode::ACCEPTED);
        assert_eq!(unknown.status(), StatusCode::ACCEPTED);
        let known: Value = known.json().await.unwrap();
        let unknown: Value = unknown.json().await.unwrap();
        assert_eq!(known, unknown);
    }
    app.wait_for_mail("ada@example.com", "Reset").await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert!(app.mails().iter().all(|m| m.to != "ghost@example.com"));
    let response = app
        .post_auth("forgot-password", json!({"email": "not an email"}))
        .await;
    assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
}

async fn resends_are_limited_to_one_a_minute(app: TestApp) {
    assert_eq!(
        app.register("ada@example.com", "ada").await.status(),
        StatusCode::CREATED
    );
    for _ in 0..3 {
        let response = app
            .post_auth("verify-email/resend", json!({"email": "ada@example.com"}))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    // The registration's email and one resend.
    app.wait_for_mails("ada@example.com", "Confirm", 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let confirmations = app
        .mails()
        .into_iter()
        .filter(|m| m.subject.contains("Confirm"));
    assert_eq!(confirmations.count(), 2);
}

async fn a_new_device_gets_a_sign_in_notification(app: TestApp) {
    app.signed_up_user("ada").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "Firefox on a stranger's laptop")
        .json(&json!({"email": "ada@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mail = app.wait_for_mail("ada@example.com", "New sign-in").await;
    assert!(mail.text.contains("Firefox on a stranger's laptop"));
    assert!(mail.html.contains("Firefox on a stranger&#39;s laptop"));
    // The account's first device was not news.
    assert_eq!(
        app.mails()
            .iter()
            .filter(|m| m.subject.contains("New sign-in"))
            .count(),
        1
    );
}

crate::on_every_backend!(
    registration_verifies_once,
    password_reset_ends_every_old_credential,
    a_password_change_kills_outstanding_reset_links,
    a_locked_out_owner_can_still_reset,
    unknown_addresses_look_like_known_ones,
    resends_are_limited_to_one_a_minute,
    a_new_device_gets_a_sign_in_notification,
);

/// Through a real SMTP server: the right recipient and subject, both parts, a working link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_delivery() {
    let sink = gatehouse_testing::smtp::SmtpSink::start().await;
    let app = TestApp::embedded_with(&[
        ("GATEHOUSE_SMTP_URL", sink.url.as_str()),
        ("GATEHOUSE_MAIL_FROM", "Gatehouse <auth@example.test>"),
        ("GATEHOUSE_PUBLIC_URL", "https://auth.example.test"),
    ])
    .await;
    assert_eq!(
        app.register("ada@example.com", "ada").await.status(),
        StatusCode::CREATED
    );
    let received = sink.wait_for(1, std::time::Duration::from_secs(15)).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "auth@example.test");
    assert_eq!(received[0].to, ["ada@example.com"]);
    assert!(received[0].data.contains("multipart/alternative"));
    let mail = Mail::parse(received[0].data.as_bytes());
    assert_eq!(
        (mail.to.as_str(), mail.subject.as_str()),
        ("ada@example.com", "Confirm your email address")
    );
    assert!(
        mail.text
            .contains("https://auth.example.test/verify-email?token=")
    );
    assert!(
        mail.html
            .contains("<a href=\"https://auth.example.test/verify-email?token=")
    );
    let response = app
        .post_auth("verify-email", json!({"token": mail.token("verify-email")}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(app.mails().is_empty(), "SMTP configured: no files written");
}

/// SMTP down: the request still succeeds, the job retries, and ends `FAILURE` with the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_outage_fails_the_job_visibly() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::embedded_with(&[
        ("GATEHOUSE_SMTP_URL", url.as_str()),
        ("GATEHOUSE_JOB_MAX_ATTEMPTS", "3"),
    ])
    .await;
    assert_eq!(
        app.register("ada@example.com", "ada").await.status(),
        StatusCode::CREATED
    );

    use sea_orm::{ConnectionTrait, Statement};
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let query = "SELECT status, attempts, error FROM tasks WHERE kind = 'send_email'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (status, attempts, error) = loop {
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), query))
            .await
            .unwrap()
            .expect("the email job is recorded");
        let status: String = row.try_get("", "status").unwrap();
        if status == "FAILURE" || std::time::Instant::now() >= deadline {
            let attempts: i32 = row.try_get("", "attempts").unwrap();
            let error: Option<String> = row.try_get("", "error").unwrap();
            break (status, attempts, error);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!((status.as_str(), attempts), ("FAILURE", 3));
    assert!(error.unwrap().contains("SMTP"));
}
