use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_error};

const TIGHT: [(&str, &str); 5] = [
    ("GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT", "3"),
    ("GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS", "6"),
    ("GATEHOUSE_REGISTRATIONS_PER_ADDRESS", "8"),
    ("GATEHOUSE_PASSWORD_RESETS_PER_ADDRESS", "4"),
    ("GATEHOUSE_VERIFICATION_RESENDS_PER_ADDRESS", "4"),
];

async fn assert_rate_limited(response: reqwest::Response) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn past_the_account_limit_even_the_right_password_is_refused(app: TestApp) {
    app.signed_up_user("target").await;
    app.signed_up_user("bystander").await;
    for _ in 0..3 {
        let wrong = app.login("target@example.com", "wrong-password-1").await;
        assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert_rate_limited(app.login("target@example.com", PASSWORD).await).await;
    // By username, or through a session login: the same account, the same limit.
    let by_name = app
        .post_json(
            "/api/v1/auth/login",
            &json!({"username": "TARGET", "password": PASSWORD}),
        )
        .await;
    assert_rate_limited(by_name).await;
    assert_rate_limited(app.session_login("target", None).await).await;
    // Other accounts are untouched.
    assert_eq!(
        app.login("bystander@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn unknown_accounts_are_throttled_alike(app: TestApp) {
    for _ in 0..3 {
        let response = app.login("ghost@example.com", "wrong-password-1").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert_rate_limited(app.login("GHOST@example.com", "wrong-password-1").await).await;
}

async fn past_the_address_limit_every_login_from_it_is_refused(app: TestApp) {
    app.signed_up_user("late").await;
    // Two failures on each of three accounts: under each account's limit, at the address's.
    for account in ["a1", "a2", "a3"] {
        for _ in 0..2 {
            let response = app
                .login(&format!("{account}@example.com"), "wrong-password-1")
                .await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
    }
    assert_rate_limited(app.login("late@example.com", PASSWORD).await).await;
}

async fn registrations_are_limited_per_address(app: TestApp) {
    for i in 0..8 {
        let response = app
            .register(&format!("reg{i}@example.com"), &format!("reg{i}"))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    assert_rate_limited(app.register("reg9@example.com", "reg9").await).await;
}

async fn email_requests_are_limited_per_address(app: TestApp) {
    for path in ["forgot-password", "verify-email/resend"] {
        let path = format!("/api/v1/auth/{path}");
        // Known or not, every request counts: the limit cannot tell them apart either.
        for i in 0..4 {
            let body = json!({"email": format!("someone{i}@example.com")});
            assert_eq!(
                app.post_json(&path, &body).await.status(),
                StatusCode::ACCEPTED
            );
        }
        let body = json!({"email": "someone@example.com"});
        assert_rate_limited(app.post_json(&path, &body).await).await;
    }
}

crate::on_every_backend_with!(super::TIGHT;
    email_requests_are_limited_per_address,
    past_the_account_limit_even_the_right_password_is_refused,
    unknown_accounts_are_throttled_alike,
    past_the_address_limit_every_login_from_it_is_refused,
    registrations_are_limited_per_address,
);

/// Failures counted on one instance throttle the account on the other.
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_holds_across_two_instances_on_one_redis() {
    let Some((first, second)) = TestApp::shared_pair(&TIGHT).await else {
        return;
    };
    first.signed_up_user("roamer").await;
    for app in [&first, &second, &first] {
        let wrong = app.login("roamer@example.com", "wrong-password-1").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    assert_rate_limited(second.login("roamer@example.com", PASSWORD).await).await;
    assert_rate_limited(first.login("roamer@example.com", PASSWORD).await).await;
}

async fn failing_logins_from(app: &TestApp, forwarded_for: &str, times: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for i in 0..times {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", forwarded_for)
            .json(&json!({"email": format!("p{i}@example.com"), "password": "wrong-password-1"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    statuses
}

/// X-Forwarded-For names the client only when the peer is a trusted proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_behind_trusted_proxies() {
    let limits = [
        ("GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS", "2"),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1, ::1"),
    ];
    let behind_proxy = TestApp::embedded_with(&limits).await;
    let statuses = failing_logins_from(&behind_proxy, "198.51.100.1", 3).await;
    assert_eq!(statuses[2], StatusCode::TOO_MANY_REQUESTS);
    let other_client = failing_logins_from(&behind_proxy, "198.51.100.2", 1).await;
    assert_eq!(
        other_client,
        vec![StatusCode::UNAUTHORIZED],
        "another client has its own count"
    );

    let direct = TestApp::embedded_with(&limits[..1]).await;
    failing_logins_from(&direct, "198.51.100.1", 2).await;
    let spoofed = failing_logins_from(&direct, "198.51.100.2", 1).await;
    assert_eq!(
        spoofed,
        vec![StatusCode::TOO_MANY_REQUESTS],
        "a spoofed header changes nothing"
    );
}
