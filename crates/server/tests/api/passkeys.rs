//! Passkeys end to end, with a software authenticator that signs for real: registration,
//! the WebAuthn second step in both modes, passwordless sign-in, removal, and bad input.
//! The relying party is `localhost` (WebAuthn refuses IP addresses): the apps here are
//! reached on 127.0.0.1, and the browser origin is whatever the configuration says.

use gatehouse_testing::passkeys::SoftAuthenticator;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use url::Url;

use crate::helpers::{PASSWORD, TestApp, assert_error, set_cookie, token};

const ORIGIN: &str = "http://localhost:8080";

fn origin() -> Url {
    Url::parse(ORIGIN).unwrap()
}

fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn post(app: &TestApp, path: &str, bearer: &str, body: Value) -> reqwest::Response {
    app.with_token(Method::POST, path, bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Registers a passkey named `name` for the bearer of `access`; the new passkey's body.
async fn register(
    app: &TestApp,
    authenticator: &mut SoftAuthenticator,
    access: &str,
    name: &str,
) -> Value {
    let started = post(
        app,
        "/api/v1/users/me/passkeys/register/start",
        access,
        json!({}),
    )
    .await;
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    let options = &started["options"];
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    let credential = authenticator.register(&origin(), options);
    let finished = post(
        app,
        "/api/v1/users/me/passkeys/register/finish",
        access,
        json!({"challenge_id": started["challenge_id"], "name": name, "credential": credential}),
    )
    .await;
    assert_eq!(finished.status(), StatusCode::CREATED);
    finished.json().await.unwrap()
}

async fn mfa_token(app: &TestApp, email: &str) -> String {
    let body: Value = app.login(email, PASSWORD).await.json().await.unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    body["mfa_token"].as_str().unwrap().to_owned()
}

/// The WebAuthn second step's assertion for `mfa_token`.
async fn assertion(app: &TestApp, authenticator: &mut SoftAuthenticator, mfa_token: &str) -> Value {
    let options = app
        .post_auth("mfa/webauthn/start", json!({"mfa_token": mfa_token}))
        .await;
    assert_eq!(options.status(), StatusCode::OK);
    let options: Value = options.json().await.unwrap();
    assert!(
        !options["options"]["allowCredentials"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    authenticator.authenticate(&origin(), &options["options"])
}

async fn a_passkey_is_a_second_factor_in_both_modes(app: TestApp) {
    let mut authenticator = SoftAuthenticator::new();
    let login = app.signed_up_user("petra").await;
    let access = token(&login, "access_token");
    let created = register(&app, &mut authenticator, &access, "Laptop").await;
    assert_eq!(created["name"], "Laptop");
    let status = app.get_json("/api/v1/users/me/mfa", &access).await;
    assert_eq!(status["passkeys"][0]["id"], created["id"]);
    assert_eq!(status["passkeys"][0]["last_used_at"], Value::Null);

    // Tokens.
    let body: Value = app
        .login("petra@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["methods"], json!(["recovery_code", "webauthn"]));
    let mfa = body["mfa_token"].as_str().unwrap().to_owned();
    let credential = assertion(&app, &mut authenticator, &mfa).await;
    let signed_in = app
        .post_auth(
            "mfa/verify",
            json!({"mfa_token": mfa, "credential": credential}),
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let signed_in: Value = signed_in.json().await.unwrap();
    assert_eq!(
        claims(&token(&signed_in, "access_token"))["amr"],
        json!(["pwd", "webauthn"])
    );
    // The same assertion on another challenge is a replay.
    let other = mfa_token(&app, "petra@example.com").await;
    let _ = app
        .post_auth("mfa/webauthn/start", json!({"mfa_token": other}))
        .await;
    let replay = app
        .post_auth(
            "mfa/verify",
            json!({"mfa_token": other, "credential": credential}),
        )
        .await;
    assert_error(replay, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // Cookie session.
    let response = app
        .post_json(
            "/api/v1/sessions",
            &json!({"username": "petra", "password": PASSWORD}),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    let mfa = body["mfa_token"].as_str().unwrap().to_owned();
    let credential = assertion(&app, &mut authenticator, &mfa).await;
    let response = app
        .post_json(
            "/api/v1/sessions/mfa",
            &json!({"mfa_token": mfa, "credential": credential}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (session, _) = set_cookie(&response, "gatehouse_session").unwrap();
    let (csrf, _) = set_cookie(&response, "gatehouse_csrf").unwrap();
    let current = app
        .current_session(&crate::helpers::Browser { session, csrf })
        .await;
    assert_eq!(current["amr"], json!(["pwd", "webauthn"]));
    let status = app.get_json("/api/v1/users/me/mfa", &access).await;
    assert!(
        status["passkeys"][0]["last_used_at"].is_string(),
        "{status}"
    );
}

async fn a_discoverable_passkey_signs_in_without_a_password(app: TestApp) {
    let mut authenticator = SoftAuthenticator::new();
    let login = app.signed_up_user("quinn").await;
    let access = token(&login, "access_token");
    register(&app, &mut authenticator, &access, "Phone").await;
    let started = app
        .post_json("/api/v1/auth/passkey/start", &json!({}))
        .await;
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.unwrap();
    assert!(
        started["options"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    let credential = authenticator.authenticate(&origin(), &started["options"]);
    let finish = json!({"challenge_id": started["challenge_id"], "credential": credential});
    let signed_in = app.post_json("/api/v1/auth/passkey/finish", &finish).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let signed_in: Value = signed_in.json().await.unwrap();
    assert_eq!(signed_in["user"]["username"], "quinn");
    let access = token(&signed_in, "access_token");
    assert_eq!(claims(&access)["amr"], json!(["webauthn"]));
    assert_eq!(app.me(&access).await.status(), StatusCode::OK);
    // The ceremony is single use.
    let again = app.post_json("/api/v1/auth/passkey/finish", &finish).await;
    assert_error(again, StatusCode::UNAUTHORIZED, "token_invalid").await;

    // An assertion for one ceremony does not finish another.
    let other: Value = app
        .post_json("/api/v1/auth/passkey/start", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let wrong = app
        .post_json(
            "/api/v1/auth/passkey/finish",
            &json!({"challenge_id": other["challenge_id"], "credential": credential}),
        )
        .await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let garbage = app
        .post_json(
            "/api/v1/auth/passkey/finish",
            &json!({"challenge_id": "x", "credential": {"id": 1}}),
        )
        .await;
    assert_error(garbage, StatusCode::UNAUTHORIZED, "token_invalid").await;
    let fresh: Value = app
        .post_json("/api/v1/auth/passkey/start", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let malformed = app
        .post_json(
            "/api/v1/auth/passkey/finish",
            &json!({"challenge_id": fresh["challenge_id"], "credential": {"id": "!!", "response": {}}}),
        )
        .await;
    assert_error(malformed, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let not_object = app
        .post_json(
            "/api/v1/auth/passkey/finish",
            &json!({"challenge_id": "x", "credential": [1, 2]}),
        )
        .await;
    assert_error(not_object, StatusCode::BAD_REQUEST, "validation_error").await;
}

async fn passkeys_are_registered_and_removed_by_their_owner_only(app: TestApp) {
    let mut authenticator = SoftAuthenticator::new();
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let owner = token(&app.signed_up_user("sven").await, "access_token");
    app.verify_email("sven@example.com").await;
    let stranger = token(&app.signed_up_user("tove").await, "access_token");
    let passkey = register(&app, &mut authenticator, &owner, "Key <b>one</b>").await;
    let id = passkey["id"].as_str().unwrap();
    // The account's first factor brings ten recovery codes; the next passkey none.
    assert_eq!(passkey["recovery_codes"].as_array().unwrap().len(), 10);
    let second = register(&app, &mut SoftAuthenticator::new(), &owner, "Spare").await;
    assert!(second.get("recovery_codes").is_none(), "{second}");
    let status = app.get_json("/api/v1/users/me/mfa", &owner).await;
    assert_eq!(status["recovery_codes_left"], 10);
    let spare = second["id"].as_str().unwrap().to_owned();

    // Bad registrations.
    let started: Value = post(
        &app,
        "/api/v1/users/me/passkeys/register/start",
        &owner,
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let path = "/api/v1/users/me/passkeys/register/finish";
    let empty_name = post(
        &app,
        path,
        &owner,
        json!({"challenge_id": started["challenge_id"], "name": " ", "credential": {}}),
    )
    .await;
    assert_error(empty_name, StatusCode::BAD_REQUEST, "validation_error").await;
    let garbage = post(
        &app,
        path,
        &owner,
        json!({"challenge_id": started["challenge_id"], "name": "x", "credential": {"id": "AA"}}),
    )
    .await;
    assert_error(garbage, StatusCode::BAD_REQUEST, "validation_error").await;
    let used = post(
        &app,
        path,
        &owner,
        json!({"challenge_id": started["challenge_id"], "name": "x", "credential": {}}),
    )
    .await;
    assert_error(used, StatusCode::BAD_REQUEST, "validation_error").await;
    // One registration in progress per account: a new start replaces the last.
    let replaced: Value = post(
        &app,
        "/api/v1/users/me/passkeys/register/start",
        &owner,
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let _newer = post(
        &app,
        "/api/v1/users/me/passkeys/register/start",
        &owner,
        json!({}),
    )
    .await;
    let credential = SoftAuthenticator::new().register(&origin(), &replaced["options"]);
    let stale = post(
        &app,
        path,
        &owner,
        json!({"challenge_id": replaced["challenge_id"], "name": "x", "credential": credential}),
    )
    .await;
    assert_error(stale, StatusCode::BAD_REQUEST, "validation_error").await;
    // A ceremony started by one account does not finish for another.
    let started: Value = post(
        &app,
        "/api/v1/users/me/passkeys/register/start",
        &owner,
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let mut other_device = SoftAuthenticator::new();
    let credential = other_device.register(&origin(), &started["options"]);
    let hijack = post(
        &app,
        path,
        &stranger,
        json!({"challenge_id": started["challenge_id"], "name": "x", "credential": credential}),
    )
    .await;
    assert_error(hijack, StatusCode::BAD_REQUEST, "validation_error").await;

    let not_yours = app
        .with_token(
            Method::DELETE,
            &format!("/api/v1/users/me/passkeys/{id}"),
            &stranger,
        )
        .send()
        .await
        .unwrap();
    assert_error(not_yours, StatusCode::NOT_FOUND, "not_found").await;
    let bad_id = app
        .with_token(Method::DELETE, "/api/v1/users/me/passkeys/123", &owner)
        .send()
        .await
        .unwrap();
    assert_error(bad_id, StatusCode::BAD_REQUEST, "validation_error").await;
    let removed = app
        .with_token(
            Method::DELETE,
            &format!("/api/v1/users/me/passkeys/{id}"),
            &owner,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let removed = app
        .with_token(
            Method::DELETE,
            &format!("/api/v1/users/me/passkeys/{spare}"),
            &owner,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let plain: Value = app
        .login("sven@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert!(plain["access_token"].is_string(), "{plain}");

    let mails = app
        .wait_for_mails("sven@example.com", "Your sign-in protection changed", 4)
        .await;
    assert!(mails.iter().any(|m| {
        m.text
            .contains("A passkey named \"Key <b>one</b>\" was added")
    }));
    assert!(
        mails
            .iter()
            .any(|m| m.html.contains("Key &lt;b&gt;one&lt;/b&gt;"))
    );
    let me = app.get_json("/api/v1/users/me", &owner).await;
    let user = me["id"].as_str().unwrap();
    for kind in ["passkey_added", "passkey_removed"] {
        let events = app
            .get_json(
                &format!("/api/v1/audit-events?user_id={user}&type={kind}"),
                &admin,
            )
            .await;
        assert_eq!(
            events["results"].as_array().unwrap().len(),
            2,
            "{kind}: {events}"
        );
    }
}

crate::on_every_backend_with!(
    [("GATEHOUSE_WEBAUTHN_ORIGIN", crate::passkeys::ORIGIN)];
    a_passkey_is_a_second_factor_in_both_modes,
    a_discoverable_passkey_signs_in_without_a_password,
    passkeys_are_registered_and_removed_by_their_owner_only,
);

/// Factor changes are limited per user (each one emails and audits): past the hourly
/// limit, 429 with `Retry-After`.
async fn factor_changes_are_limited_per_user(app: TestApp) {
    let owner = token(&app.signed_up_user("flood").await, "access_token");
    for _ in 0..3 {
        let started = post(
            &app,
            "/api/v1/users/me/passkeys/register/start",
            &owner,
            json!({}),
        )
        .await;
        assert_eq!(started.status(), StatusCode::OK);
    }
    let refused = post(
        &app,
        "/api/v1/users/me/passkeys/register/start",
        &owner,
        json!({}),
    )
    .await;
    assert!(refused.headers().get("retry-after").is_some());
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let other = token(&app.signed_up_user("calm").await, "access_token");
    let started = post(
        &app,
        "/api/v1/users/me/passkeys/register/start",
        &other,
        json!({}),
    )
    .await;
    assert_eq!(started.status(), StatusCode::OK, "another user's budget");
}

mod limited {
    use super::*;

    crate::on_every_backend_with!(
        [
            ("GATEHOUSE_WEBAUTHN_ORIGIN", crate::passkeys::ORIGIN),
            ("GATEHOUSE_FACTOR_CHANGES_PER_HOUR", "3"),
        ];
        factor_changes_are_limited_per_user,
    );
}

/// Ceremonies live in Redis: a registration started on one instance finishes on the other,
/// and so does a passwordless sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis"
)]
async fn passkey_ceremonies_cross_instances() {
    let extra = [("GATEHOUSE_WEBAUTHN_ORIGIN", ORIGIN)];
    let Some((a, b)) = TestApp::shared_pair(&extra).await else {
        return;
    };
    let mut authenticator = SoftAuthenticator::new();
    let owner = token(&a.signed_up_user("ursula").await, "access_token");
    let started: Value = post(
        &a,
        "/api/v1/users/me/passkeys/register/start",
        &owner,
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let credential = authenticator.register(&origin(), &started["options"]);
    let finish =
        json!({"challenge_id": started["challenge_id"], "name": "Key", "credential": credential});
    let finished = post(
        &b,
        "/api/v1/users/me/passkeys/register/finish",
        &owner,
        finish,
    )
    .await;
    assert_eq!(finished.status(), StatusCode::CREATED);
    let started: Value = b
        .post_json("/api/v1/auth/passkey/start", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let credential = authenticator.authenticate(&origin(), &started["options"]);
    let signed_in = a
        .post_json(
            "/api/v1/auth/passkey/finish",
            &json!({"challenge_id": started["challenge_id"], "credential": credential}),
        )
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}

/// Where passkeys cannot work (an instance whose RP id is an IP address), a passkey is
/// still a second factor: the password alone never signs in, and the WebAuthn step answers
/// 503 rather than being skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_still_guards_the_account_where_passkeys_are_unavailable() {
    let app = TestApp::embedded_with(&[("GATEHOUSE_WEBAUTHN_ORIGIN", ORIGIN)]).await;
    let owner = token(&app.signed_up_user("vera").await, "access_token");
    register(&app, &mut SoftAuthenticator::new(), &owner, "Key").await;
    let elsewhere = app.another_instance(&[]).await;
    let body: Value = elsewhere
        .login("vera@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["mfa_required"], true, "{body}");
    assert!(body.get("access_token").is_none());
    assert_eq!(body["methods"], json!(["recovery_code", "webauthn"]));
    let step = elsewhere
        .post_auth(
            "mfa/webauthn/start",
            json!({"mfa_token": body["mfa_token"]}),
        )
        .await;
    assert_error(step, StatusCode::SERVICE_UNAVAILABLE, "service_unavailable").await;
}
