use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{PASSWORD, TestApp, assert_error, token};
use gatehouse_testing::OwnRedis;

/// Redis dies: session and bearer requests fail closed (503 with the error body, never 200,
/// never 500); Redis returns: the service recovers without a restart.
#[cfg_attr(
    gatehouse_no_redis_server,
    ignore = "needs redis-server on PATH (Debian package redis-server)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_fails_closed_and_recovers_by_itself() {
    let Some(mut redis) = OwnRedis::start().await else {
        return;
    };
    let app = TestApp::embedded_with(&[("GATEHOUSE_REDIS_URL", &redis.url())]).await;
    let browser = app.signed_in_browser("outage").await;
    let login: Value = app
        .login("outage@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let access = token(&login, "access_token");
    assert_eq!(
        app.get_as(&browser, "/api/v1/users/me").await.status(),
        StatusCode::OK
    );

    redis.kill();
    assert_error(
        app.get_as(&browser, "/api/v1/users/me").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert_error(
        app.me(&access).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    let current = app.get_as(&browser, "/api/v1/sessions/current").await;
    assert_error(
        current,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert_error(
        app.login("outage@example.com", PASSWORD).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);

    // The new Redis is empty (no persistence): old sessions are gone, new logins work.
    redis.restart().await;
    wait_until_healthy(&app).await;
    let again = app.session_login("outage", None).await;
    assert_eq!(again.status(), StatusCode::OK);
    let fresh: Value = app
        .login("outage@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.me(&token(&fresh, "access_token")).await.status(),
        StatusCode::OK
    );
}

/// Redis comes back without its latest writes (a failover to a replica that had not seen
/// them, a restart from an old snapshot): an account's version may read what it read
/// before a write. The instance forgets its copies when it reconnects, so no copy from
/// before the outage is served on the strength of a version that went back.
#[cfg_attr(
    gatehouse_no_redis_server,
    ignore = "needs redis-server on PATH (Debian package redis-server)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_accounts_do_not_outlive_a_reconnection_to_redis() {
    use sea_orm::ConnectionTrait;

    let Some(mut redis) = OwnRedis::start().await else {
        return;
    };
    let app = TestApp::embedded_with(&[("GATEHOUSE_REDIS_URL", &redis.url())]).await;
    let login = app.signed_up_user("rollback").await;
    let access = token(&login, "access_token");
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["first_name"], "");
    let key = format!("gatehouse:acct:ver:{{{}}}", me["id"].as_str().unwrap());
    let redis_cli = |args: &[&str]| {
        let output = std::process::Command::new("redis-cli")
            .args(["-p", &redis.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let version = redis_cli(&["GET", &key]);
    assert!(version.parse::<u64>().is_ok(), "a version: {version:?}");

    // The account changes while the write's moves are lost with the outage.
    redis.kill();
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    db.execute_unprepared("UPDATE users SET first_name = 'Changed' WHERE username = 'rollback'")
        .await
        .unwrap();
    redis.restart().await;
    let redis_cli = |args: &[&str]| {
        std::process::Command::new("redis-cli")
            .args(["-p", &redis.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli runs")
    };
    redis_cli(&["SET", &key, &version]);
    wait_until_healthy(&app).await;
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["first_name"], "Changed");
}

/// Waits until `/health` is green again (the service reconnected to Redis by itself).
async fn wait_until_healthy(app: &TestApp) {
    for _ in 0..50 {
        if app.get("/health").await.status() == StatusCode::OK {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the service did not reconnect to Redis");
}
