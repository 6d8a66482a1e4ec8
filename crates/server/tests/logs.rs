//! Logs carry the request id and never a secret, even at `debug`: an account's whole story
//! (register, verify, log in by token and by session, refresh and reuse, change and reset
//! the password, fail to log in) runs with every target at `debug`, through both log
//! formats, and every line is then searched for every secret the story handled.
//!
//! Its own test binary: the subscriber it installs is process-wide.
#![allow(clippy::unwrap_used)] // a test fails by panicking

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use gatehouse::config::LogFormat;
use gatehouse::telemetry;
use helpers::{MASTER_KEY, PASSWORD, TestApp, set_cookie, token};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const CHANGED_PASSWORD: &str = "amber-lantern-77";
const RESET_PASSWORD: &str = "copper-meadow-19";
const WRONG_PASSWORD: &str = "quartz-bicycle-58";

/// Every line written by either format.
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static LINES: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LINES.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        captured()
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn install_capture() {
    tracing_subscriber::registry()
        .with(EnvFilter::new("debug"))
        .with(telemetry::layer(LogFormat::Text, || Capture))
        .with(telemetry::layer(LogFormat::Json, || Capture))
        .init();
}

/// Runs the story; returns every secret it handled.
async fn account_story(app: &TestApp) -> Vec<String> {
    let email = "logged@example.com";
    assert_eq!(
        app.register(email, "logged").await.status(),
        StatusCode::CREATED
    );
    let verification = app
        .wait_for_mail(email, "Confirm your email")
        .await
        .token("verify-email");
    let verified = app
        .post_auth("verify-email", json!({"token": verification}))
        .await;
    assert_eq!(verified.status(), StatusCode::OK);

    let login: Value = app.login(email, PASSWORD).await.json().await.unwrap();
    let (access, refresh) = (
        token(&login, "access_token"),
        token(&login, "refresh_token"),
    );
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);
    let rotated: Value = app.refresh(&refresh).await.json().await.unwrap();
    let rotated_refresh = token(&rotated, "refresh_token");
    let rotated_access = token(&rotated, "access_token");
    // The rotated-out token again: reuse, logged as such (without the token).
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(email, WRONG_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    let session = app.session_login("logged", None).await;
    assert_eq!(session.status(), StatusCode::OK);
    let (session_id, _) = set_cookie(&session, "gatehouse_session").expect("session cookie");
    let (csrf, _) = set_cookie(&session, "gatehouse_csrf").expect("csrf cookie");
    let cookies = format!("gatehouse_session={session_id}; gatehouse_csrf={csrf}");
    let change = app
        .client
        .post(app.url("/api/v1/users/me/password"))
        .header("Cookie", &cookies)
        .header("X-CSRF-Token", &csrf)
        .json(&json!({
            "current_password": PASSWORD,
            "new_password": CHANGED_PASSWORD,
            "new_password_confirm": CHANGED_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert!(change.status().is_success(), "{}", change.status());

    let forgot = app
        .post_auth("forgot-password", json!({"email": email}))
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let reset = app
        .wait_for_mail(email, "Reset your password")
        .await
        .token("reset-password");
    let body =
        json!({"token": reset, "password": RESET_PASSWORD, "password_confirm": RESET_PASSWORD});
    assert_eq!(
        app.post_auth("reset-password", body).await.status(),
        StatusCode::OK
    );
    let last: Value = app.login(email, RESET_PASSWORD).await.json().await.unwrap();
    let garbage = app
        .with_token(Method::GET, "/api/v1/users/me", "not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::UNAUTHORIZED);

    let mut secrets = vec![
        PASSWORD.to_owned(),
        CHANGED_PASSWORD.to_owned(),
        RESET_PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
        MASTER_KEY.to_owned(),
        verification,
        reset,
        access,
        refresh,
        rotated_access,
        rotated_refresh,
        token(&last, "access_token"),
        token(&last, "refresh_token"),
        session_id,
        csrf,
    ];
    secrets.extend(stored_password_hashes(app).await);
    secrets
}

async fn stored_password_hashes(app: &TestApp) -> Vec<String> {
    let db = Database::connect(&app.database_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT password_hash FROM users",
        ))
        .await
        .unwrap();
    let hashes: Vec<String> = rows
        .iter()
        .map(|row| row.try_get::<String>("", "password_hash").unwrap())
        .collect();
    assert!(!hashes.is_empty());
    hashes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs_and_every_request_line_has_its_id() {
    install_capture();
    let app = TestApp::embedded().await;
    let secrets = account_story(&app).await;
    // Let the job worker's last lines land.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logs = String::from_utf8(captured().lock().unwrap().clone()).unwrap();

    // The capture saw the story, at debug: the check below has something to search.
    assert!(logs.contains("login succeeded"), "{logs}");
    assert!(logs.contains("refresh token reuse detected"), "{logs}");
    assert!(logs.contains("DEBUG"), "nothing at debug was logged");
    for secret in &secrets {
        assert!(secret.len() >= 8, "{secret:?} is too short to search for");
        if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
            panic!("a secret reached the logs: {line}");
        }
    }
    for marker in ["$2b$", "$2a$", "$2y$", "Bearer ", "gatehouse_session="] {
        if let Some(line) = logs.lines().find(|line| line.contains(marker)) {
            panic!("{marker:?} reached the logs: {line}");
        }
    }

    // Every line logged while serving a request names it: text lines by their
    // `request{request_id=..}` prefix, JSON lines in their outermost span.
    let json_lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let finished: Vec<&Value> = json_lines
        .iter()
        .filter(|line| line["message"] == "request finished")
        .collect();
    assert!(finished.len() >= 13, "{} requests logged", finished.len());
    for line in json_lines.iter().filter(|line| {
        line["message"] == "request finished" || line["message"] == "login succeeded"
    }) {
        let id = line["spans"][0]["request_id"].as_str().unwrap_or_default();
        assert_eq!(id.len(), 36, "no request id on {line}");
    }
    let text_logins: Vec<&str> = logs
        .lines()
        .filter(|line| !line.starts_with('{') && line.contains("login succeeded"))
        .collect();
    assert!(!text_logins.is_empty());
    for line in text_logins {
        assert!(line.contains("request{request_id="), "{line}");
    }
}
