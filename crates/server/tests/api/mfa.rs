//! Second factors end to end: enrolment, sign-in with each factor through tokens and cookie
//! sessions, replay and wrong-code exhaustion, recovery codes, expiry, two instances, an
//! admin's reset, and bad input.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_infrastructure::mfa::TotpSecret;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::helpers::{PASSWORD, TestApp, assert_error, set_cookie, token};

/// The claims of a JWT (unverified: the server checked it).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// The code an authenticator app holding `secret` shows `ahead` seconds from now.
fn code(secret: &str, ahead: i64) -> String {
    let at = OffsetDateTime::now_utc() + time::Duration::seconds(ahead);
    TotpSecret::from_base32(secret)
        .unwrap()
        .code_at(at)
        .unwrap()
}

/// A code no app shows now: the one of an hour ago.
fn stale_code(secret: &str) -> String {
    code(secret, -3600)
}

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: &str,
    body: Value,
) -> reqwest::Response {
    app.with_token(method, path, bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A user with a confirmed authenticator app: (email, access token, secret, recovery codes).
struct Enrolled {
    email: String,
    access: String,
    secret: String,
    recovery: Vec<String>,
}

async fn enrolled(app: &TestApp, name: &str) -> Enrolled {
    let login = app.signed_up_user(name).await;
    app.verify_email(&format!("{name}@example.com")).await;
    let access = token(&login, "access_token");
    let started = call(
        app,
        Method::POST,
        "/api/v1/users/me/mfa/totp",
        &access,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    let secret = started["secret"].as_str().unwrap().to_owned();
    let confirmed = call(
        app,
        Method::POST,
        "/api/v1/users/me/mfa/totp/confirm",
        &access,
        json!({"code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.unwrap();
    let recovery = confirmed["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        email: format!("{name}@example.com"),
        access,
        secret,
        recovery,
    }
}

/// A password login that must ask for the second factor; its `mfa_token`.
async fn challenge(app: &TestApp, email: &str) -> String {
    let response = app.login(email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn verify(app: &TestApp, mfa_token: &str, code: &str) -> reqwest::Response {
    app.post_auth("mfa/verify", json!({"mfa_token": mfa_token, "code": code}))
        .await
}

async fn enrolment_then_sign_in_with_the_app_in_both_modes(app: TestApp) {
    let login = app.signed_up_user("tariq").await;
    let access = token(&login, "access_token");
    let status = app.get_json("/api/v1/users/me/mfa", &access).await;
    assert_eq!(
        status,
        json!({"totp": false, "passkeys": [], "recovery_codes_left": 0})
    );

    let wrong = call(
        &app,
        Method::POST,
        "/api/v1/users/me/mfa/totp",
        &access,
        json!({"password": "not-it-at-all"}),
    )
    .await;
    assert_error(wrong, StatusCode::BAD_REQUEST, "validation_error").await;
    let started = call(
        &app,
        Method::POST,
        "/api/v1/users/me/mfa/totp",
        &access,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    let secret = started["secret"].as_str().unwrap().to_owned();
    let url = started["otpauth_url"].as_str().unwrap();
    assert!(
        url.starts_with("otpauth://totp/Gatehouse:tariq%40example.com?"),
        "{url}"
    );
    assert!(url.contains(&format!("secret={secret}")), "{url}");
    assert!(started["qr_svg"].as_str().unwrap().contains("<svg"));
    // Pending: the password alone still signs in.
    let pending = app.login("tariq@example.com", PASSWORD).await;
    assert!(pending.json::<Value>().await.unwrap()["access_token"].is_string());

    let refused = call(
        &app,
        Method::POST,
        "/api/v1/users/me/mfa/totp/confirm",
        &access,
        json!({"code": stale_code(&secret)}),
    )
    .await;
    assert_error(refused, StatusCode::BAD_REQUEST, "validation_error").await;
    let confirmed = call(
        &app,
        Method::POST,
        "/api/v1/users/me/mfa/totp/confirm",
        &access,
        json!({"code": code(&secret, 0)}),
    )
    .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed: Value = confirmed.json().await.unwrap();
    let recovery = confirmed["recovery_codes"].as_array().unwrap();
    assert_eq!(recovery.len(), 10);
    let distinct: std::collections::HashSet<_> = recovery.iter().collect();
    assert_eq!(distinct.len(), 10);
    // The token that enabled it still works; enrolment again is a conflict.
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);
    let again = call(
        &app,
        Method::POST,
        "/api/v1/users/me/mfa/totp",
        &access,
        json!({"password": PASSWORD}),
    )
    .await;
    assert_error(again, StatusCode::CONFLICT, "conflict").await;
    let status = app.get_json("/api/v1/users/me/mfa", &access).await;
    assert_eq!(
        status,
        json!({"totp": true, "passkeys": [], "recovery_codes_left": 10})
    );

    // Tokens: the password gives a challenge, never a token.
    let response = app.login("tariq@example.com", PASSWORD).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mfa_required"], true);
    assert_eq!(body["methods"], json!(["totp", "recovery_code"]));
    assert_eq!(body["expires_in"], 300);
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
    // Never a bearer token.
    assert_eq!(app.me(&mfa_token).await.status(), StatusCode::UNAUTHORIZED);
    // The confirming code was used: replaying it is refused.
    let replay = verify(&app, &mfa_token, &code(&secret, 0)).await;
    assert_error(replay, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let next = code(&secret, 30);
    let signed_in = verify(&app, &mfa_token, &next).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let signed_in: Value = signed_in.json().await.unwrap();
    assert_eq!(signed_in["token_type"], "Bearer");
    assert_eq!(signed_in["user"]["email"], "tariq@example.com");
    let access = token(&signed_in, "access_token");
    assert_eq!(claims(&access)["amr"], json!(["pwd", "otp"]));
    // A refresh keeps the amr of the login that started the family.
    let refreshed = app.refresh(&token(&signed_in, "refresh_token")).await;
    let refreshed: Value = refreshed.json().await.unwrap();
    assert_eq!(
        claims(&token(&refreshed, "access_token"))["amr"],
        json!(["pwd", "otp"])
    );
    // The token is single use, and so is the code.
    let used = verify(&app, &mfa_token, &next).await;
    assert_error(used, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let other = challenge(&app, "tariq@example.com").await;
    let replay = verify(&app, &other, &next).await;
    assert_error(replay, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // Cookie session: the same two steps, cookies only at the second.
    let response = app
        .post_json(
            "/api/v1/sessions",
            &json!({"username": "tariq", "password": PASSWORD}),
        )
        .await;
    assert!(set_cookie(&response, "gatehouse_session").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["mfa_required"], true);
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let recovery_code = recovery[0].as_str().unwrap();
    let response = app
        .post_json(
            "/api/v1/sessions/mfa",
            &json!({"mfa_token": mfa_token, "code": recovery_code}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (session, _) = set_cookie(&response, "gatehouse_session").unwrap();
    let (csrf, _) = set_cookie(&response, "gatehouse_csrf").unwrap();
    let browser = crate::helpers::Browser { session, csrf };
    let current = app.current_session(&browser).await;
    assert_eq!(current["authenticated"], true);
    assert_eq!(current["amr"], json!(["pwd", "recovery_code"]));
    let status = app.get_json("/api/v1/users/me/mfa", &access).await;
    assert_eq!(status["recovery_codes_left"], 9);
    // An address nobody proved to own gets no factor emails (tariq never verified his).
    let factor_mails = app
        .mails()
        .into_iter()
        .filter(|m| m.to == "tariq@example.com" && m.subject.contains("sign-in protection"))
        .count();
    assert_eq!(factor_mails, 0);
}

/// The authenticator app through a cookie session: cookies only after the code.
async fn a_browser_signs_in_with_the_app(app: TestApp) {
    let user = enrolled(&app, "bianca").await;
    let response = app
        .post_json(
            "/api/v1/sessions",
            &json!({"email": user.email, "password": PASSWORD}),
        )
        .await;
    assert!(set_cookie(&response, "gatehouse_session").is_none());
    let body: Value = response.json().await.unwrap();
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let wrong = app
        .post_json(
            "/api/v1/sessions/mfa",
            &json!({"mfa_token": mfa_token, "code": stale_code(&user.secret)}),
        )
        .await;
    assert!(set_cookie(&wrong, "gatehouse_session").is_none());
    assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let response = app
        .post_json(
            "/api/v1/sessions/mfa",
            &json!({"mfa_token": mfa_token, "code": code(&user.secret, 30)}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (session, _) = set_cookie(&response, "gatehouse_session").unwrap();
    let (csrf, _) = set_cookie(&response, "gatehouse_csrf").unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], user.email);
    assert_eq!(body["csrf_token"], csrf);
    let browser = crate::helpers::Browser { session, csrf };
    let current = app.current_session(&browser).await;
    assert_eq!(current["amr"], json!(["pwd", "otp"]));
    let me = app.get_as(&browser, "/api/v1/users/me/mfa").await;
    assert_eq!(me.status(), StatusCode::OK);
}

/// A refresh keeps the time of the sign-in that started its family (`auth_time`): an old
/// family cannot pass for a recent sign-in.
async fn a_refresh_keeps_the_sign_in_time(app: TestApp) {
    let login = app.signed_up_user("auth-time").await;
    let first = claims(&token(&login, "access_token"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refreshed: Value = app
        .refresh(&token(&login, "refresh_token"))
        .await
        .json()
        .await
        .unwrap();
    let second = claims(&token(&refreshed, "access_token"));
    assert!(first["auth_time"].is_i64(), "{first}");
    assert_eq!(second["auth_time"], first["auth_time"]);
    assert!(second["iat"].as_i64() > first["iat"].as_i64());
}

async fn lost_phone_recovery_codes_are_single_use_and_regenerable(app: TestApp) {
    let user = enrolled(&app, "rosa").await;
    let first = challenge(&app, &user.email).await;
    // Typing slips are forgiven: upper case, no dashes.
    let typed = user.recovery[3].to_uppercase().replace('-', "");
    let response = verify(&app, &first, &typed).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        claims(&token(&body, "access_token"))["amr"],
        json!(["pwd", "recovery_code"])
    );
    let second = challenge(&app, &user.email).await;
    let reused = verify(&app, &second, &user.recovery[3]).await;
    assert_error(reused, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // Two sign-ins racing with one code: one wins.
    let (a, b) = (
        challenge(&app, &user.email).await,
        challenge(&app, &user.email).await,
    );
    let (ra, rb) = tokio::join!(
        verify(&app, &a, &user.recovery[4]),
        verify(&app, &b, &user.recovery[4])
    );
    let wins = [ra.status(), rb.status()]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert_eq!(wins, 1, "{} {}", ra.status(), rb.status());

    // New codes need the password and a code; the old ones die.
    let path = "/api/v1/users/me/mfa/recovery-codes";
    let wrong = call(
        &app,
        Method::POST,
        path,
        &user.access,
        json!({"password": PASSWORD, "code": "0000-0000-0000"}),
    )
    .await;
    assert_error(wrong, StatusCode::BAD_REQUEST, "validation_error").await;
    let fresh = call(
        &app,
        Method::POST,
        path,
        &user.access,
        json!({"password": PASSWORD, "code": user.recovery[5]}),
    )
    .await;
    assert_eq!(fresh.status(), StatusCode::OK);
    let fresh: Value = fresh.json().await.unwrap();
    let fresh_code = fresh["recovery_codes"][0].as_str().unwrap().to_owned();
    let old = challenge(&app, &user.email).await;
    let dead = verify(&app, &old, &user.recovery[6]).await;
    assert_error(dead, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(
        verify(&app, &old, &fresh_code).await.status(),
        StatusCode::OK
    );
    let status = app.get_json("/api/v1/users/me/mfa", &user.access).await;
    assert_eq!(status["recovery_codes_left"], 9);

    // Removing the app takes the password and a code; then the password alone signs in.
    let path = "/api/v1/users/me/mfa/totp";
    let wrong = call(
        &app,
        Method::DELETE,
        path,
        &user.access,
        json!({"password": "nope-nope-nope", "code": fresh["recovery_codes"][1]}),
    )
    .await;
    assert_error(wrong, StatusCode::BAD_REQUEST, "validation_error").await;
    let removed = call(
        &app,
        Method::DELETE,
        path,
        &user.access,
        json!({"password": PASSWORD, "code": fresh["recovery_codes"][1]}),
    )
    .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let plain = app.login(&user.email, PASSWORD).await;
    assert!(plain.json::<Value>().await.unwrap()["access_token"].is_string());
    let status = app.get_json("/api/v1/users/me/mfa", &user.access).await;
    assert_eq!(
        status,
        json!({"totp": false, "passkeys": [], "recovery_codes_left": 0})
    );
    let mails = app
        .wait_for_mails(&user.email, "Your sign-in protection changed", 3)
        .await;
    let texts: Vec<&str> = mails.iter().map(|m| m.text.as_str()).collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("authenticator app now protects")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("New recovery codes")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("was removed")), "{texts:?}");
}

async fn five_wrong_codes_kill_the_mfa_token_even_sent_at_once(app: TestApp) {
    let user = enrolled(&app, "wanda").await;
    let mfa_token = challenge(&app, &user.email).await;
    for _ in 0..5 {
        let wrong = verify(&app, &mfa_token, &stale_code(&user.secret)).await;
        assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let dead = verify(&app, &mfa_token, &user.recovery[0]).await;
    assert_error(dead, StatusCode::UNAUTHORIZED, "token_invalid").await;
}

/// How many of a burst's refusals were checks (invalid_credentials) rather than a dead token.
async fn checked_in_a_burst(app: &TestApp, mfa_token: &str) -> usize {
    let guesses = (0..20).map(|i| async move {
        let response = verify(app, mfa_token, &format!("{:06}", 200_000 + i)).await;
        let body: Value = response.json().await.unwrap();
        body["code"].as_str().unwrap_or_default().to_owned()
    });
    let codes = futures_util::future::join_all(guesses).await;
    assert!(
        codes
            .iter()
            .all(|c| c == "invalid_credentials" || c == "token_invalid"),
        "{codes:?}"
    );
    codes.iter().filter(|c| *c == "invalid_credentials").count()
}

async fn a_burst_of_codes_gets_five_checks(app: TestApp) {
    let user = enrolled(&app, "bruno").await;
    let mfa_token = challenge(&app, &user.email).await;
    assert_eq!(checked_in_a_burst(&app, &mfa_token).await, 5);
}

async fn wrong_codes_count_against_the_accounts_login_limit(app: TestApp) {
    let user = enrolled(&app, "lena").await;
    // Three failures allowed per account (configured below): each wrong code is one.
    for _ in 0..3 {
        let mfa_token = challenge(&app, &user.email).await;
        let wrong = verify(&app, &mfa_token, &stale_code(&user.secret)).await;
        assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let locked = app.login(&user.email, PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().get("retry-after").is_some());
}

async fn an_expired_mfa_token_says_so(app: TestApp) {
    let user = enrolled(&app, "ezra").await;
    let mfa_token = challenge(&app, &user.email).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let late = verify(&app, &mfa_token, &user.recovery[0]).await;
    assert_error(late, StatusCode::UNAUTHORIZED, "token_expired").await;
    // The code was not spent on a dead challenge.
    let fresh = challenge(&app, &user.email).await;
    assert_eq!(
        verify(&app, &fresh, &user.recovery[0]).await.status(),
        StatusCode::OK
    );
}

async fn the_mfa_token_is_bound_to_the_device_that_passed_the_password(app: TestApp) {
    let user = enrolled(&app, "dev").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("User-Agent", "phone/1.0")
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let elsewhere = app
        .client
        .post(app.url("/api/v1/auth/mfa/verify"))
        .header("User-Agent", "attacker/2.0")
        .json(&json!({"mfa_token": mfa_token, "code": user.recovery[0]}))
        .send()
        .await
        .unwrap();
    assert_error(elsewhere, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let same = app
        .client
        .post(app.url("/api/v1/auth/mfa/verify"))
        .header("User-Agent", "phone/1.0")
        .json(&json!({"mfa_token": mfa_token, "code": user.recovery[0]}))
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), StatusCode::OK);
}

async fn an_admin_resets_a_users_factors(app: TestApp) {
    let admin = token(&app.signed_in_admin("boss").await, "access_token");
    let user = enrolled(&app, "mira").await;
    let me = app.get_json("/api/v1/users/me", &user.access).await;
    let id = me["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{id}/mfa");
    let not_admin = app
        .with_token(Method::DELETE, &path, &user.access)
        .send()
        .await
        .unwrap();
    assert_error(not_admin, StatusCode::FORBIDDEN, "permission_denied").await;
    let bad = app
        .with_token(Method::DELETE, "/api/v1/users/nope/mfa", &admin)
        .send()
        .await
        .unwrap();
    assert_error(bad, StatusCode::BAD_REQUEST, "validation_error").await;
    let unknown = format!("/api/v1/users/{}/mfa", uuid::Uuid::new_v4());
    let unknown = app
        .with_token(Method::DELETE, &unknown, &admin)
        .send()
        .await
        .unwrap();
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let reset = app
        .with_token(Method::DELETE, &path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    // Signed out everywhere, and the password alone signs in again.
    assert_eq!(
        app.me(&user.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let plain = app.login(&user.email, PASSWORD).await;
    let plain: Value = plain.json().await.unwrap();
    assert!(plain["access_token"].is_string(), "{plain}");
    let mail = app
        .wait_for_mails(&user.email, "Your sign-in protection changed", 2)
        .await;
    assert!(
        mail.iter()
            .any(|m| m.text.contains("An administrator removed"))
    );
    let events = app
        .get_json(
            &format!("/api/v1/audit-events?user_id={id}&type=mfa_reset"),
            &admin,
        )
        .await;
    assert_eq!(events["results"].as_array().unwrap().len(), 1, "{events}");
    let enabled = app
        .get_json(
            &format!("/api/v1/audit-events?user_id={id}&type=mfa_enabled"),
            &admin,
        )
        .await;
    assert_eq!(enabled["results"].as_array().unwrap().len(), 1, "{enabled}");
}

async fn bad_input_is_a_clear_4xx(app: TestApp) {
    let user = enrolled(&app, "bobby").await;
    let mfa_token = challenge(&app, &user.email).await;
    let letters = verify(&app, &mfa_token, "abcdef").await;
    assert_error(letters, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let neither = app
        .post_auth("mfa/verify", json!({"mfa_token": mfa_token}))
        .await;
    assert_error(neither, StatusCode::BAD_REQUEST, "validation_error").await;
    let both = app
        .post_auth(
            "mfa/verify",
            json!({"mfa_token": mfa_token, "code": "123456", "credential": {}}),
        )
        .await;
    assert_error(both, StatusCode::BAD_REQUEST, "validation_error").await;
    let not_object = app
        .post_auth(
            "mfa/verify",
            json!({"mfa_token": mfa_token, "credential": "x"}),
        )
        .await;
    assert_error(not_object, StatusCode::BAD_REQUEST, "validation_error").await;
    let unknown = verify(&app, "not-a-token", "123456").await;
    assert_error(unknown, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let wrong_type = app
        .post_auth("mfa/verify", json!({"mfa_token": 5, "code": "123456"}))
        .await;
    assert_error(wrong_type, StatusCode::BAD_REQUEST, "validation_error").await;
    let huge = "9".repeat(3 * 1024 * 1024);
    let huge = verify(&app, &mfa_token, &huge).await;
    assert_error(huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let garbage_credential = app
        .post_auth(
            "mfa/verify",
            json!({"mfa_token": mfa_token, "credential": {"id": "!!", "response": 7}}),
        )
        .await;
    // Passkeys are unavailable on an IP address: an assertion is 503, not a failure.
    assert_error(
        garbage_credential,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    let long_code = verify(&app, &mfa_token, &"1".repeat(500)).await;
    assert!(
        long_code.status().is_client_error(),
        "{}",
        long_code.status()
    );
    let confirm = call(
        &app,
        Method::POST,
        "/api/v1/users/me/mfa/totp/confirm",
        &user.access,
        json!({"code": ["1"]}),
    )
    .await;
    assert_error(confirm, StatusCode::BAD_REQUEST, "validation_error").await;
    let no_passkey = app
        .post_auth(
            "mfa/webauthn/start",
            json!({"mfa_token": challenge(&app, &user.email).await}),
        )
        .await;
    assert!(
        no_passkey.status().is_client_error()
            || no_passkey.status() == StatusCode::SERVICE_UNAVAILABLE
    );
    // Passkeys need a domain; these apps run on 127.0.0.1.
    let unavailable = app
        .post_json("/api/v1/auth/passkey/start", &json!({}))
        .await;
    assert_error(
        unavailable,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
}

/// SimpleJWT's login has no step for a second factor: it refuses to hand out tokens on the
/// password alone, and says where to finish (with the `mfa_token` it opened).
async fn the_simplejwt_login_hands_a_second_factor_account_to_mfa_verify(app: TestApp) {
    let user = enrolled(&app, "sjmfa").await;
    let refused = app
        .post_json(
            "/api/token/",
            &json!({"email": user.email, "password": PASSWORD}),
        )
        .await;
    let body = assert_error(refused, StatusCode::FORBIDDEN, "mfa_required").await;
    assert!(
        body.get("access").is_none() && body.get("refresh").is_none(),
        "{body}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/auth/mfa/verify")
    );
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let finished = verify(&app, mfa_token, &user.recovery[0]).await;
    assert_eq!(finished.status(), StatusCode::OK);
    let finished: Value = finished.json().await.unwrap();
    assert!(finished["access_token"].is_string(), "{finished}");
    // A wrong password there is still SimpleJWT's 401.
    let wrong = app
        .post_json(
            "/api/token/",
            &json!({"email": user.email, "password": "not-it-at-all"}),
        )
        .await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

crate::on_every_backend!(
    a_browser_signs_in_with_the_app,
    the_simplejwt_login_hands_a_second_factor_account_to_mfa_verify,
    a_refresh_keeps_the_sign_in_time,
    enrolment_then_sign_in_with_the_app_in_both_modes,
    lost_phone_recovery_codes_are_single_use_and_regenerable,
    five_wrong_codes_kill_the_mfa_token_even_sent_at_once,
    a_burst_of_codes_gets_five_checks,
    the_mfa_token_is_bound_to_the_device_that_passed_the_password,
    an_admin_resets_a_users_factors,
    bad_input_is_a_clear_4xx,
);

mod limited {
    use super::*;

    crate::on_every_backend_with!(
        [("GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT", "3")];
        wrong_codes_count_against_the_accounts_login_limit,
    );
}

mod short_lived {
    use super::*;

    crate::on_every_backend_with!(
        [("GATEHOUSE_MFA_TOKEN_TTL", "1")];
        an_expired_mfa_token_says_so,
    );
}

/// Started on one instance, finished on the other: the challenge lives in Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis"
)]
async fn a_sign_in_started_on_one_instance_finishes_on_another() {
    let Some((a, b)) = TestApp::shared_pair(&[]).await else {
        return;
    };
    let user = enrolled(&a, "pair").await;
    let mfa_token = challenge(&a, &user.email).await;
    let finished = verify(&b, &mfa_token, &code(&user.secret, 30)).await;
    assert_eq!(finished.status(), StatusCode::OK);
    let body: Value = finished.json().await.unwrap();
    assert_eq!(
        a.me(&token(&body, "access_token")).await.status(),
        StatusCode::OK
    );
    // Used on B: dead on A.
    let again = verify(&a, &mfa_token, &user.recovery[0]).await;
    assert_error(again, StatusCode::UNAUTHORIZED, "token_invalid").await;
}

/// A master-key rotation: while the old key is `GATEHOUSE_MASTER_KEY_PREVIOUS`, secrets and
/// recovery codes sealed under it still work; `keys reseal` (here its service call) seals
/// the secrets again, and the new key alone then opens them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_key_rotation_keeps_authenticator_apps_working() {
    const NEW: &str = "bmV3LW1hc3Rlci1rZXktMDEyMzQ1Njc4OWFiY2RlZmc=";
    let app = TestApp::embedded().await;
    let user = enrolled(&app, "rotor").await;
    let rotating = app
        .another_instance(&[
            ("GATEHOUSE_MASTER_KEY", NEW),
            ("GATEHOUSE_MASTER_KEY_PREVIOUS", crate::helpers::MASTER_KEY),
        ])
        .await;
    let mfa_token = challenge(&rotating, &user.email).await;
    let by_code = verify(&rotating, &mfa_token, &user.recovery[0]).await;
    assert_eq!(
        by_code.status(),
        StatusCode::OK,
        "recovery codes under the old key"
    );
    let resealed = rotating.state.factors.reseal_secrets().await.unwrap();
    assert_eq!(resealed, 1);
    rotating
        .state
        .jwks
        .keys
        .as_ref()
        .unwrap()
        .reseal()
        .await
        .unwrap();
    let after = app.another_instance(&[("GATEHOUSE_MASTER_KEY", NEW)]).await;
    let mfa_token = challenge(&after, &user.email).await;
    let by_app = verify(&after, &mfa_token, &code(&user.secret, 30)).await;
    assert_eq!(
        by_app.status(),
        StatusCode::OK,
        "the resealed secret opens with the new key"
    );
}
