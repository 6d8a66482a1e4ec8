//! The SimpleJWT-compatible endpoints as a Django front end uses them: DRF's bodies and
//! `detail` errors, backed by the token service (rotation, reuse detection, revocation,
//! throttling).

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, token};

async fn post(app: &TestApp, path: &str, body: Value) -> Response {
    app.post_json(&format!("/api/token/{path}"), &body).await
}

/// Asserts a 200 whose body is exactly SimpleJWT's pair; returns (access, refresh).
async fn pair(response: Response) -> (String, String) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["access", "refresh"], "{body}");
    (token(&body, "access"), token(&body, "refresh"))
}

async fn assert_empty_ok(response: Response) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
}

/// Asserts SimpleJWT's refusal of a token: 401, `code: token_not_valid`, `detail`, and the
/// standard body.
async fn assert_token_not_valid(response: Response) -> Value {
    let body = assert_error(response, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("Token is")),
        "{body}"
    );
    body
}

/// A name no other test uses, starting with `prefix`.
fn fresh(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// How many stolen-token alarms the audit log holds for `user_id`, as an admin reads it.
async fn reuse_alarms(app: &TestApp, user_id: &str) -> usize {
    let admin = app.signed_in_admin(&fresh("ad")).await;
    let events = app
        .get_json(
            &format!("/api/v1/audit-events?type=refresh_reuse_detected&user_id={user_id}"),
            &token(&admin, "access_token"),
        )
        .await;
    events["results"].as_array().unwrap().len()
}

async fn obtain(app: &TestApp, name: &str) -> (String, String) {
    pair(post(app, "", json!({"username": name, "password": PASSWORD})).await).await
}

async fn a_simplejwt_front_end_works_by_changing_its_base_url(app: TestApp) {
    let name = fresh("sj");
    let email = format!("{name}@example.com");
    assert_eq!(
        app.register(&email, &name).await.status(),
        StatusCode::CREATED
    );

    // Log in by username (Django's default) or by email (custom user models).
    let (access, refresh) = obtain(&app, &name).await;
    let by_email = post(&app, "", json!({"email": email, "password": PASSWORD})).await;
    pair(by_email).await;
    // `access` is an ordinary access token.
    let me: Value = app.me(&access).await.json().await.unwrap();
    assert_eq!(me["email"], email.as_str(), "{me}");

    // Verify takes either token, as SimpleJWT's does.
    assert_empty_ok(post(&app, "verify/", json!({"token": access})).await).await;
    assert_empty_ok(post(&app, "verify/", json!({"token": refresh})).await).await;

    // Refresh rotates: a new pair, and the old refresh token is dead.
    let (new_access, new_refresh) =
        pair(post(&app, "refresh/", json!({"refresh": refresh})).await).await;
    assert_ne!(new_refresh, refresh);
    assert_eq!(app.me(&new_access).await.status(), StatusCode::OK);
    assert_empty_ok(post(&app, "verify/", json!({"token": new_access})).await).await;
    assert_empty_ok(post(&app, "verify/", json!({"token": new_refresh})).await).await;

    // Blacklisting ends the refresh token.
    assert_empty_ok(post(&app, "blacklist/", json!({"refresh": new_refresh})).await).await;
    assert_token_not_valid(post(&app, "verify/", json!({"token": new_refresh})).await).await;
    assert_token_not_valid(post(&app, "refresh/", json!({"refresh": new_refresh})).await).await;
    assert_token_not_valid(post(&app, "blacklist/", json!({"refresh": new_refresh})).await).await;
}

async fn errors_carry_drfs_detail_beside_the_standard_body(app: TestApp) {
    let name = fresh("se");
    app.signed_up_user(&name).await;

    let wrong = post(&app, "", json!({"username": name, "password": "not it"})).await;
    let body = assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(
        body["detail"], "No active account found with the given credentials",
        "{body}"
    );
    let unknown = post(
        &app,
        "",
        json!({"username": "nobody-here", "password": "x"}),
    )
    .await;
    let body = assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(
        body["detail"],
        "No active account found with the given credentials"
    );

    // A missing field: DRF's `{field: [message]}` at the top level too.
    for (path, body, field) in [
        ("", json!({"username": name}), "password"),
        ("", json!({"password": PASSWORD}), "email"),
        ("refresh/", json!({}), "refresh"),
        ("verify/", json!({}), "token"),
        ("blacklist/", json!({}), "refresh"),
    ] {
        let refused = post(&app, path, body).await;
        let body = assert_error(refused, StatusCode::BAD_REQUEST, "validation_error").await;
        assert!(body[field].is_array(), "{path} {body}");
        assert_eq!(body[field], body["details"][field], "{body}");
        assert!(body["detail"].is_string(), "{body}");
    }

    // Anything that is not a live token of ours, in any field that takes one.
    let (access, refresh) = obtain(&app, &name).await;
    // One character in the middle of the signature: a different signature, not merely
    // different padding bits.
    let middle = refresh.len() - 20;
    let swapped = if &refresh[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    let forged = format!("{}{swapped}{}", &refresh[..middle], &refresh[middle + 1..]);
    for garbage in ["", " ", "garbage", "a.b.c", forged.as_str()] {
        for (path, field) in [
            ("refresh/", "refresh"),
            ("verify/", "token"),
            ("blacklist/", "refresh"),
        ] {
            let refused = post(&app, path, json!({ field: garbage })).await;
            assert_token_not_valid(refused).await;
        }
    }
    // The wrong type: an access token is no refresh token.
    let body =
        assert_token_not_valid(post(&app, "refresh/", json!({"refresh": access})).await).await;
    assert_eq!(body["detail"], "Token is invalid");
    assert_token_not_valid(post(&app, "blacklist/", json!({"refresh": access})).await).await;

    // Wrong JSON types and shapes are 400s, never 500s.
    for body in [
        json!({"refresh": 5}),
        json!({"refresh": null}),
        json!(["refresh"]),
    ] {
        let refused = post(&app, "refresh/", body).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let body: Value = refused.json().await.unwrap();
        assert!(body["detail"].is_string(), "{body}");
    }
    // Nothing above (a forged copy presented to blacklist included) ended the real family.
    assert_empty_ok(post(&app, "verify/", json!({"token": refresh})).await).await;
}

async fn reuse_through_refresh_revokes_the_whole_family(app: TestApp) {
    let name = fresh("sr");
    let user_id = app.signed_up_user(&name).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, stolen) = obtain(&app, &name).await;
    let (_, victims) = pair(post(&app, "refresh/", json!({"refresh": stolen})).await).await;
    // The thief replays the rotated token: refused, and the family dies.
    assert_token_not_valid(post(&app, "refresh/", json!({"refresh": stolen})).await).await;
    assert_token_not_valid(post(&app, "refresh/", json!({"refresh": victims})).await).await;
    assert_token_not_valid(post(&app, "verify/", json!({"token": victims})).await).await;

    // Blacklisting a rotated token is reuse as well, and so is verifying one: a thief cannot
    // probe a stolen copy without setting off the alarm.
    for path in ["blacklist/", "verify/"] {
        let (_, first) = obtain(&app, &name).await;
        let (_, second) = pair(post(&app, "refresh/", json!({"refresh": first})).await).await;
        let field = if path == "verify/" {
            "token"
        } else {
            "refresh"
        };
        assert_token_not_valid(post(&app, path, json!({ field: first })).await).await;
        assert_token_not_valid(post(&app, "refresh/", json!({"refresh": second})).await).await;
    }

    // All three were seen as theft.
    assert_eq!(reuse_alarms(&app, &user_id).await, 3);
}

/// A refresh token presented many times at once rotates once: exactly one new pair, and the
/// rest are reuse, which ends the family (the winner's token included).
async fn a_burst_of_refreshes_with_one_token_rotates_it_once(app: TestApp) {
    let name = fresh("sb");
    app.signed_up_user(&name).await;
    for _ in 0..3 {
        let (_, refresh) = obtain(&app, &name).await;
        let attempts: Vec<_> = (0..20)
            .map(|_| post(&app, "refresh/", json!({"refresh": refresh})))
            .collect();
        let mut winners = Vec::new();
        for response in futures_util::future::join_all(attempts).await {
            if response.status() == StatusCode::OK {
                winners.push(pair(response).await.1);
            } else {
                assert_token_not_valid(response).await;
            }
        }
        assert_eq!(winners.len(), 1, "exactly one rotation");
        assert_token_not_valid(post(&app, "refresh/", json!({"refresh": winners[0]})).await).await;
    }
}

/// The login limits hold on `/api/token/`: a burst of wrong passwords gets at most the
/// per-account limit of checks, and then the right password is refused too.
async fn a_burst_of_wrong_passwords_is_throttled(app: TestApp) {
    let name = fresh("st");
    app.signed_up_user(&name).await;
    let attempts: Vec<_> = (0..30)
        .map(|i| {
            post(
                &app,
                "",
                json!({"username": name, "password": format!("wrong-{i}")}),
            )
        })
        .collect();
    let mut checked = 0;
    for response in futures_util::future::join_all(attempts).await {
        match response.status() {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(response.headers().contains_key("retry-after"));
                let body =
                    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
                assert!(body["detail"].is_string(), "{body}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(checked <= 10, "{checked} passwords checked");
    let right = post(&app, "", json!({"username": name, "password": PASSWORD})).await;
    assert_error(right, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

/// Revocation reaches tokens obtained here: after a sign-out everywhere, neither token
/// verifies and the refresh token cannot be exchanged.
async fn revocation_reaches_compat_tokens(app: TestApp) {
    let name = fresh("sv");
    app.signed_up_user(&name).await;
    let (access, refresh) = obtain(&app, &name).await;
    assert_eq!(
        app.logout_all(&access).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_token_not_valid(post(&app, "verify/", json!({"token": access})).await).await;
    assert_token_not_valid(post(&app, "verify/", json!({"token": refresh})).await).await;
    assert_token_not_valid(post(&app, "refresh/", json!({"refresh": refresh})).await).await;
}

/// Verify answers for the token's claims too: an access token minted before a role change
/// carries the old role, and a service that trusts it must be told to refresh.
async fn verify_refuses_an_access_token_that_carries_an_old_grant(app: TestApp) {
    let name = fresh("sg");
    let login = app.signed_up_user(&name).await;
    let id = login["user"]["id"].as_str().unwrap().to_owned();
    let (access, refresh) = obtain(&app, &name).await;
    let admin = app.signed_in_admin(&fresh("ga")).await;
    let promoted = app
        .with_token(
            reqwest::Method::PATCH,
            &format!("/api/v1/users/{id}"),
            &token(&admin, "access_token"),
        )
        .json(&json!({"permissions": ["can_view_users"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(promoted.status(), StatusCode::OK);
    assert_token_not_valid(post(&app, "verify/", json!({"token": access})).await).await;
    // The refresh token is still good, and the access token it gives carries the new grant.
    let (fresh, _) = pair(post(&app, "refresh/", json!({"refresh": refresh})).await).await;
    assert_empty_ok(post(&app, "verify/", json!({"token": fresh})).await).await;
}

/// Methods, content types and identifiers a front end may get wrong: clear 4xx answers in
/// DRF's form, and an empty identifier field does not hide the other.
async fn what_the_endpoints_refuse_and_accept(app: TestApp) {
    let name = fresh("sm");
    app.signed_up_user(&name).await;
    for path in ["", "refresh/", "verify/", "blacklist/"] {
        let refused = app.get(&format!("/api/token/{path}")).await;
        let body = assert_error(
            refused,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
        assert!(body["detail"].is_string(), "{body}");
        let form = app
            .client
            .post(app.url(&format!("/api/token/{path}")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("refresh=x&token=x&username=x&password=x")
            .send()
            .await
            .unwrap();
        let body = assert_error(
            form,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
        assert!(body["detail"].is_string(), "{body}");
    }
    let both = json!({"username": name, "email": "", "password": PASSWORD});
    pair(post(&app, "", both).await).await;
    let both =
        json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD});
    pair(post(&app, "", both).await).await;
}

crate::on_every_backend!(
    verify_refuses_an_access_token_that_carries_an_old_grant,
    what_the_endpoints_refuse_and_accept,
    a_simplejwt_front_end_works_by_changing_its_base_url,
    errors_carry_drfs_detail_beside_the_standard_body,
    reuse_through_refresh_revokes_the_whole_family,
    a_burst_of_refreshes_with_one_token_rotates_it_once,
    a_burst_of_wrong_passwords_is_throttled,
    revocation_reaches_compat_tokens,
);

/// Expiry is `token_not_valid` too, with SimpleJWT's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_does_not_verify() {
    let app = TestApp::embedded_with(&[("GATEHOUSE_ACCESS_TOKEN_TTL", "1")]).await;
    app.signed_up_user("sjexpired").await;
    let (access, refresh) = obtain(&app, "sjexpired").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let body = assert_token_not_valid(post(&app, "verify/", json!({"token": access})).await).await;
    assert_eq!(body["detail"], "Token is expired");
    pair(post(&app, "refresh/", json!({"refresh": refresh})).await).await;
}

/// Verify and blacklist count against the per-address refresh limit, and refuse past it
/// before they look at the token.
async fn token_checks_count_against_the_refresh_limit(app: TestApp) {
    let name = fresh("sl");
    app.signed_up_user(&name).await;
    let (access, refresh) = obtain(&app, &name).await;
    for _ in 0..3 {
        assert_empty_ok(post(&app, "verify/", json!({"token": access})).await).await;
    }
    let body = assert_error(
        post(&app, "verify/", json!({"token": access})).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert!(body["detail"].is_string(), "{body}");
    for path in ["blacklist/", "refresh/"] {
        let refused = post(&app, path, json!({"refresh": refresh})).await;
        assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    }
}

mod limited {
    use super::*;

    crate::on_every_backend_with!(
        [("GATEHOUSE_REFRESHES_PER_ADDRESS", "3")];
        token_checks_count_against_the_refresh_limit,
    );
}

/// With a grace window, the token just rotated away from is a concurrent request of the
/// same client, not theft: verify refuses it and ends nothing, and blacklisting it (a second
/// tab signing out) ends the family without an alarm.
async fn within_the_grace_window_a_rotated_token_is_not_theft(app: TestApp) {
    let name = fresh("sw");
    let user_id = app.signed_up_user(&name).await["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, old) = obtain(&app, &name).await;
    let (_, new) = pair(post(&app, "refresh/", json!({"refresh": old})).await).await;
    assert_token_not_valid(post(&app, "verify/", json!({"token": old})).await).await;
    assert_empty_ok(post(&app, "verify/", json!({"token": new})).await).await;
    assert_empty_ok(post(&app, "blacklist/", json!({"refresh": old})).await).await;
    assert_token_not_valid(post(&app, "refresh/", json!({"refresh": new})).await).await;
    assert_eq!(reuse_alarms(&app, &user_id).await, 0, "no alarm");
}

mod with_grace {
    use super::*;

    crate::on_every_backend_with!(
        [("GATEHOUSE_REFRESH_REUSE_GRACE", "60")];
        within_the_grace_window_a_rotated_token_is_not_theft,
    );
}
