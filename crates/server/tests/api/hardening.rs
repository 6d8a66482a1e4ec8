//! Account hardening, attack by attack: every scenario here is an attack that worked against
//! an earlier build (a burst of parallel requests, or a race repeated until it would hit), and
//! asserts that it no longer does. Each runs on both backends.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error, set_cookie, token};

fn user_id(login: &Value) -> String {
    login["user"]["id"].as_str().expect("user id").to_owned()
}

/// How many of `statuses` are `status`.
fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Every audit event of `kind` about `user` (as the admin `admin` sees them).
async fn audit_events(app: &TestApp, admin: &str, user: &str, kind: &str) -> Vec<Value> {
    let path = format!("/api/v1/audit-events?limit=100&user_id={user}&type={kind}");
    let response = app
        .with_token(Method::GET, &path, admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["results"].as_array().cloned().unwrap_or_default()
}

/// Slow enough hashing that a burst's requests really overlap.
const SLOW_HASH: [(&str, &str); 2] = [
    ("GATEHOUSE_BCRYPT_COST", "8"),
    ("GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS", "100000"),
];

/// 59 wrong passwords at once, then the right one: at most the limit (10) are checked, the
/// rest are refused without a hash, the right password comes too late, and the refusals
/// leave one `login_throttled` event rather than a row each.
async fn a_burst_of_guesses_gets_at_most_the_limit_checked(app: TestApp) {
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let target = app.signed_up_user("target").await;
    let wrong: Vec<String> = (0..59).map(|i| format!("wrong-guess-{i}")).collect();
    let guesses = wrong.iter().map(|w| app.login("target@example.com", w));
    let statuses: Vec<StatusCode> = join_all(guesses)
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(
        checked <= 10,
        "{checked} guesses were checked: {statuses:?}"
    );
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        59 - checked
    );
    let right = app.login("target@example.com", PASSWORD).await;
    assert_error(right, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    let id = user_id(&target);
    let failed = audit_events(&app, &admin, &id, "login_failed").await;
    assert_eq!(failed.len(), checked, "one login_failed per checked guess");
    let throttled = audit_events(&app, &admin, &id, "login_throttled").await;
    assert_eq!(throttled.len(), 1, "{throttled:?}");
}

/// The current-password check of a password change is the same door: a burst of wrong
/// current passwords gets at most the limit checked.
async fn a_burst_of_wrong_current_passwords_gets_at_most_the_limit_checked(app: TestApp) {
    let login = app.signed_up_user("changer").await;
    let access = token(&login, "access_token");
    let attempts = (0..30).map(|i| {
        let body = json!({
            "current_password": format!("wrong-guess-{i}"),
            "new_password": "orange-bicycle-97",
            "new_password_confirm": "orange-bicycle-97",
        });
        app.with_token(Method::POST, "/api/v1/users/me/password", &access)
            .json(&body)
            .send()
    });
    let statuses: Vec<StatusCode> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("request sent").status())
        .collect();
    let checked = count(&statuses, StatusCode::BAD_REQUEST);
    assert!(checked <= 10, "{checked} were checked: {statuses:?}");
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        30 - checked
    );
}

mod bursts {
    use super::*;
    crate::on_every_backend_with!(super::SLOW_HASH;
        a_burst_of_guesses_gets_at_most_the_limit_checked,
        a_burst_of_wrong_current_passwords_gets_at_most_the_limit_checked,
    );
}

const PUBLIC_KEYS: [&str; 5] = ["avatar_url", "first_name", "id", "last_name", "username"];

fn keys(user: &Value) -> Vec<String> {
    let mut keys: Vec<String> = user
        .as_object()
        .expect("a user object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// A brand-new, unverified account sees other users only as public profiles, and cannot
/// ask which emails have accounts; admins and holders of `can_view_users` see everything.
async fn strangers_see_only_public_profiles(app: TestApp) {
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let alice = app.signed_up_user("alice").await;
    let alice_token = token(&alice, "access_token");
    let patch =
        json!({"phone_number": "+442079460958", "birth_date": "1990-05-17", "first_name": "Alice"});
    let response = app
        .with_token(Method::PATCH, "/api/v1/users/me", &alice_token)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mallory_login = app.signed_up_user("mallory").await;
    let mallory = token(&mallory_login, "access_token");
    let mallory_id = user_id(&mallory_login);

    let app = &app;
    let list = |bearer: String| async move {
        let response = app
            .with_token(Method::GET, "/api/v1/users?limit=100", &bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.unwrap()["results"]
            .as_array()
            .cloned()
            .unwrap()
    };
    let seen = list(mallory.clone()).await;
    assert_eq!(seen.len(), 3);
    for user in &seen {
        if user["id"] == mallory_id.as_str() {
            assert_eq!(
                user["email"], "mallory@example.com",
                "the caller's own row is full"
            );
        } else {
            assert_eq!(keys(user), PUBLIC_KEYS, "{user}");
        }
    }
    let alice_path = format!("/api/v1/users/{}", user_id(&alice));
    let one = app.get_json(&alice_path, &mallory).await;
    assert_eq!(keys(&one), PUBLIC_KEYS);
    assert_eq!(one["first_name"], "Alice");
    let lookup = "/api/v1/users/lookup?email=alice@example.com";
    for email in ["alice@example.com", "nobody@example.com"] {
        let path = format!("/api/v1/users/lookup?email={email}");
        let refused = app
            .with_token(Method::GET, &path, &mallory)
            .send()
            .await
            .unwrap();
        assert_error(refused, StatusCode::FORBIDDEN, "permission_denied").await;
    }

    // Admins see what they saw.
    let full = list(admin.clone()).await;
    assert!(
        full.iter()
            .all(|u| u["email"].is_string() && u["role"].is_string())
    );
    let alice_row = full.iter().find(|u| u["username"] == "alice").unwrap();
    assert_eq!(alice_row["phone_number"], "+442079460958");

    // The permission applies to mallory's existing token at once.
    let grant = app
        .with_token(
            Method::PATCH,
            &format!("/api/v1/users/{mallory_id}"),
            &admin,
        )
        .json(&json!({"permissions": ["can_view_users"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::OK);
    let now_full = list(mallory.clone()).await;
    assert!(now_full.iter().all(|u| u["email"].is_string()));
    let found = app
        .with_token(Method::GET, lookup, &mallory)
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(
        found.json::<Value>().await.unwrap()["birth_date"],
        "1990-05-17"
    );
}

mod privacy {
    use super::*;
    crate::on_every_backend!(strangers_see_only_public_profiles);
}

/// Runs `attempt` until it has run `times` times or `budget` has passed (at least once).
async fn repeat<F, Fut>(times: usize, budget: Duration, mut attempt: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    for round in 0..times {
        attempt(round).await;
        if started.elapsed() > budget {
            break;
        }
    }
}

async fn admin_patch(app: &TestApp, admin: &str, id: &str, body: Value) -> reqwest::Response {
    app.with_token(Method::PATCH, &format!("/api/v1/users/{id}"), admin)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn user_as_admin(app: &TestApp, admin: &str, id: &str) -> Value {
    app.get_json(&format!("/api/v1/users/{id}"), admin).await
}

/// A profile edit that overlaps a deactivation never brings the account back.
async fn a_profile_edit_never_undoes_a_deactivation(app: TestApp) {
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let id = user_id(&app.signed_up_user("flipper").await);
    repeat(20, Duration::from_secs(4), |round| {
        let (app, admin, id) = (&app, &admin, &id);
        async move {
            let login: Value = app
                .login("flipper@example.com", PASSWORD)
                .await
                .json()
                .await
                .unwrap();
            let access = token(&login, "access_token");
            let edit = app
                .with_token(Method::PATCH, "/api/v1/users/me", &access)
                .json(&json!({"first_name": format!("Round {round}")}))
                .send();
            let deactivate = app
                .with_token(Method::DELETE, &format!("/api/v1/users/{id}"), admin)
                .send();
            let (edited, deactivated) = tokio::join!(edit, deactivate);
            assert_eq!(deactivated.unwrap().status(), StatusCode::NO_CONTENT);
            let edited = edited.unwrap().status();
            assert!(
                edited == StatusCode::OK || edited == StatusCode::UNAUTHORIZED,
                "{edited}"
            );
            let after = user_as_admin(app, admin, id).await;
            assert_eq!(after["is_active"], false, "round {round}: {after}");
            let back = admin_patch(app, admin, id, json!({"is_active": true})).await;
            assert_eq!(back.status(), StatusCode::OK);
        }
    })
    .await;
}

/// Two profile edits of different fields sent at once: both stand.
async fn concurrent_edits_of_different_fields_both_stand(app: TestApp) {
    let access = token(&app.signed_up_user("editor").await, "access_token");
    repeat(15, Duration::from_secs(3), |round| {
        let (app, access) = (&app, &access);
        async move {
            let name = format!("Round{round}");
            let phone = format!("+4420794609{round:02}");
            let patch = |body: Value| {
                app.with_token(Method::PATCH, "/api/v1/users/me", access)
                    .json(&body)
                    .send()
            };
            let (named, phoned) = tokio::join!(
                patch(json!({"first_name": name})),
                patch(json!({"phone_number": phone}))
            );
            assert_eq!(named.unwrap().status(), StatusCode::OK);
            assert_eq!(phoned.unwrap().status(), StatusCode::OK);
            let me: Value = app.me(access).await.json().await.unwrap();
            assert_eq!(me["first_name"], name.as_str(), "round {round}: {me}");
            assert_eq!(me["phone_number"], phone.as_str(), "round {round}: {me}");
        }
    })
    .await;
}

/// A password change that overlaps a demotion never restores the old role, and a
/// permission edit that overlaps a password change never restores the old password.
async fn a_password_change_and_an_access_change_never_undo_each_other(app: TestApp) {
    let root = token(&app.signed_in_admin("root").await, "access_token");
    let id = user_id(&app.signed_up_user("climber").await);
    let passwords = ["orange-bicycle-97", "lemon-harbour-33"];
    repeat(12, Duration::from_secs(6), |round| {
        let (app, root, id) = (&app, &root, &id);
        async move {
            let (old, new) = (
                if round == 0 { PASSWORD } else { passwords[(round + 1) % 2] },
                passwords[round % 2],
            );
            let promoted = admin_patch(app, root, id, json!({"role": "admin", "permissions": []})).await;
            assert_eq!(promoted.status(), StatusCode::OK);
            let login: Value = app.login("climber@example.com", old).await.json().await.unwrap();
            let access = token(&login, "access_token");
            let change = app
                .with_token(Method::POST, "/api/v1/users/me/password", &access)
                .json(&json!({"current_password": old, "new_password": new, "new_password_confirm": new}))
                .send();
            let demote = admin_patch(app, root, id, json!({"role": "user", "permissions": ["can_create_user"]}));
            let (changed, demoted) = tokio::join!(change, demote);
            assert_eq!(changed.unwrap().status(), StatusCode::NO_CONTENT, "round {round}");
            assert_eq!(demoted.status(), StatusCode::OK);
            let after = user_as_admin(app, root, id).await;
            assert_eq!(after["role"], "user", "round {round}: the demotion was undone");
            assert_eq!(after["permissions"], json!(["can_create_user"]), "round {round}");
            assert_eq!(
                app.login("climber@example.com", new).await.status(),
                StatusCode::OK,
                "round {round}: the new password was undone"
            );
        }
    })
    .await;
}

mod account_races {
    use super::*;
    crate::on_every_backend!(
        a_profile_edit_never_undoes_a_deactivation,
        a_password_change_and_an_access_change_never_undo_each_other,
        concurrent_edits_of_different_fields_both_stand,
    );
}

/// A login that checked the old password before a reset finished must not hand out
/// credentials that outlive the reset.
async fn a_login_racing_a_reset_hands_out_nothing_that_works(app: TestApp) {
    let names: Vec<String> = (0..13).map(|i| format!("racer{i}")).collect();
    for name in &names {
        app.signed_up_user(name).await;
        let body = json!({"email": format!("{name}@example.com")});
        assert_eq!(
            app.post_auth("forgot-password", body).await.status(),
            StatusCode::ACCEPTED
        );
    }
    // The window is a few milliseconds wide and sits near the end of the reset. Each account
    // shifts the login against the reset (negative: the reset waits), so the sweep crosses
    // it on any machine: early logins finish before the reset and their credentials must
    // die with it; late ones read the new password and are refused. The first account
    // signs in before its reset starts at all, so that side is always exercised.
    let offsets = [-40i64, -30, -20, -15, -10, -5, 0, 5, 10, 15, 25, 40];
    for (round, name) in names.iter().enumerate() {
        let email = format!("{name}@example.com");
        let reset = app
            .wait_for_mail(&email, "Reset")
            .await
            .token("reset-password");
        let new = "orange-bicycle-97";
        let body = json!({"token": reset, "password": new, "password_confirm": new});
        let (login, reset) = if round == 0 {
            let login = app.login(&email, PASSWORD).await;
            (login, app.post_auth("reset-password", body).await)
        } else {
            let shift = |by: i64| Duration::from_millis(by.max(0).unsigned_abs());
            let offset = offsets[round % offsets.len()];
            let login = async {
                tokio::time::sleep(shift(offset)).await;
                app.login(&email, PASSWORD).await
            };
            let reset = async {
                tokio::time::sleep(shift(-offset)).await;
                app.post_auth("reset-password", body).await
            };
            tokio::join!(login, reset)
        };
        assert_eq!(reset.status(), StatusCode::OK);
        if login.status() != StatusCode::OK {
            assert_ne!(round, 0, "a login before the reset uses the old password");
            assert_error(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
            continue;
        }
        let login: Value = login.json().await.unwrap();
        assert_eq!(
            app.me(&token(&login, "access_token")).await.status(),
            StatusCode::UNAUTHORIZED,
            "{name}: an access token from the old password outlived the reset"
        );
        assert_eq!(
            app.refresh(&token(&login, "refresh_token")).await.status(),
            StatusCode::UNAUTHORIZED,
            "{name}: a refresh token from the old password outlived the reset"
        );
    }
}

mod reset_race {
    use super::*;
    crate::on_every_backend_with!([("GATEHOUSE_BCRYPT_COST", "8")];
        a_login_racing_a_reset_hands_out_nothing_that_works,
    );
}

/// Rotation never extends a refresh family past its absolute lifetime.
async fn a_refresh_chain_ends_at_its_absolute_lifetime(app: TestApp) {
    let login = app.signed_up_user("keeper").await;
    // The server's login happened before this instant, so its end is before `ends`.
    let ends = Instant::now() + Duration::from_secs(3);
    let mut refresh = token(&login, "refresh_token");
    while Instant::now() + Duration::from_millis(500) < ends {
        let response = app.refresh(&refresh).await;
        assert_eq!(response.status(), StatusCode::OK);
        refresh = token(&response.json().await.unwrap(), "refresh_token");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Just past the end (well inside the last token's whole-second `exp`): expired, not
    // merely invalid.
    tokio::time::sleep(
        (ends + Duration::from_millis(50)).saturating_duration_since(Instant::now()),
    )
    .await;
    assert_error(
        app.refresh(&refresh).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
}

mod absolute_lifetime {
    use super::*;
    crate::on_every_backend_with!([("GATEHOUSE_REFRESH_ABSOLUTE_TTL", "3")];
        a_refresh_chain_ends_at_its_absolute_lifetime,
    );
}

/// Audit events older than the retention are pruned by the periodic job; newer ones stay.
async fn old_audit_events_are_pruned(app: TestApp) {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let admin = token(&app.signed_in_admin("root").await, "access_token");
    let db = Database::connect(&app.database_url).await.unwrap();
    let old = time::OffsetDateTime::now_utc() - time::Duration::days(3);
    let old_id = uuid::Uuid::now_v7();
    let insert = Statement::from_sql_and_values(
        db.get_database_backend(),
        match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "INSERT INTO audit_events (id, event_type, data, created_at) VALUES ($1, 'logout', '{}', $2)"
            }
            _ => {
                "INSERT INTO audit_events (id, event_type, data, created_at) VALUES (?, 'logout', '{}', ?)"
            }
        },
        [old_id.into(), old.into()],
    );
    db.execute_raw(insert).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = app
            .with_token(
                Method::GET,
                "/api/v1/audit-events?type=logout&limit=100",
                &admin,
            )
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap();
        let ids: Vec<&str> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["id"].as_str())
            .collect();
        if !ids.contains(&old_id.to_string().as_str()) {
            break;
        }
        assert!(Instant::now() < deadline, "the old event was never pruned");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recent = audit_events(
        &app,
        &admin,
        &user_id(&app.signed_up_user("fresh").await),
        "user_registered",
    )
    .await;
    assert_eq!(recent.len(), 1, "recent events stay");
}

mod retention {
    use super::*;
    crate::on_every_backend_with!([
        ("GATEHOUSE_AUDIT_RETENTION_DAYS", "2"),
        ("GATEHOUSE_AUDIT_PRUNE_INTERVAL", "1"),
    ];
        old_audit_events_are_pruned,
    );
}

async fn submit(app: &TestApp, access: &str, body: &Value) -> reqwest::Response {
    app.with_token(Method::POST, "/api/v1/tasks", access)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// 100 tasks at once: 20 open at most, the rest 429 with Retry-After; revoking one frees a
/// place; refused creations do not count.
async fn open_tasks_are_capped_per_user(app: TestApp) {
    let access = token(&app.signed_up_user("flooder").await, "access_token");
    let long = json!({"type": "long_running", "seconds": 3600});
    let responses = join_all((0..100).map(|_| submit(&app, &access, &long))).await;
    let statuses: Vec<StatusCode> = responses.iter().map(reqwest::Response::status).collect();
    assert_eq!(count(&statuses, StatusCode::ACCEPTED), 20, "{statuses:?}");
    assert_eq!(count(&statuses, StatusCode::TOO_MANY_REQUESTS), 80);
    let mut first_accepted = None;
    let mut first_refused = None;
    for response in responses {
        if response.status() == StatusCode::ACCEPTED && first_accepted.is_none() {
            first_accepted = Some(token(&response.json().await.unwrap(), "id"));
        } else if response.status() == StatusCode::TOO_MANY_REQUESTS && first_refused.is_none() {
            first_refused = Some(response);
        }
    }
    let refused = first_refused.unwrap();
    assert!(retry_after(&refused) >= 1);
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    let other = token(&app.signed_up_user("bystander").await, "access_token");
    assert_eq!(
        submit(&app, &other, &long).await.status(),
        StatusCode::ACCEPTED
    );

    // A revocation frees a place at once; the refused creations left nothing behind.
    let id = first_accepted.expect("an accepted task");
    let revoked = app
        .with_token(Method::DELETE, &format!("/api/v1/tasks/{id}"), &access)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        submit(&app, &access, &long).await.status(),
        StatusCode::ACCEPTED
    );
    assert_eq!(
        submit(&app, &access, &long).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// At most `GATEHOUSE_TASKS_PER_HOUR` creations an hour; refused ones do not count.
async fn task_creations_are_limited_per_hour(app: TestApp) {
    let access = token(&app.signed_up_user("busy").await, "access_token");
    let add = json!({"type": "add", "x": 1, "y": 2});
    let statuses: Vec<StatusCode> = join_all((0..12).map(|_| submit(&app, &access, &add)))
        .await
        .iter()
        .map(reqwest::Response::status)
        .collect();
    assert_eq!(count(&statuses, StatusCode::ACCEPTED), 5, "{statuses:?}");
    let refused = submit(&app, &access, &add).await;
    let wait = retry_after(&refused);
    assert!((1..=3600).contains(&wait), "{wait}");
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

mod hourly_tasks {
    use super::*;
    crate::on_every_backend_with!([("GATEHOUSE_TASKS_PER_HOUR", "5")];
        task_creations_are_limited_per_hour,
    );
}

/// A worker runs a bounded number of tasks at once (`GATEHOUSE_JOB_CONCURRENCY`, 2 here),
/// and a reset email goes out within seconds while every slot is busy with tasks.
async fn emails_never_wait_behind_tasks(app: TestApp) {
    app.signed_up_user("waiter").await;
    let long = json!({"type": "long_running", "seconds": 600});
    let mut ids = Vec::new();
    for name in ["hog1", "hog2"] {
        let access = token(&app.signed_up_user(name).await, "access_token");
        for response in join_all((0..20).map(|_| submit(&app, &access, &long))).await {
            assert_eq!(response.status(), StatusCode::ACCEPTED);
            ids.push((access.clone(), token(&response.json().await.unwrap(), "id")));
        }
    }
    let started = || async {
        let mut started = 0;
        for (access, id) in &ids {
            let task = app.get_json(&format!("/api/v1/tasks/{id}"), access).await;
            started += usize::from(task["status"] == "STARTED");
        }
        started
    };
    // Wait for the worker to fill its two slots, give it time to take more, and count.
    let deadline = Instant::now() + Duration::from_secs(15);
    while started().await < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(started().await, 2, "the worker runs two tasks at a time");
    // Every task slot is busy for ten minutes; the email still comes (within the 15 s that
    // waiting for it allows).
    let body = json!({"email": "waiter@example.com"});
    assert_eq!(
        app.post_auth("forgot-password", body).await.status(),
        StatusCode::ACCEPTED
    );
    app.wait_for_mail("waiter@example.com", "Reset").await;
}

mod task_flood {
    use super::*;
    crate::on_every_backend_with!([("GATEHOUSE_TASK_STEP_MS", "1000"), ("GATEHOUSE_JOB_CONCURRENCY", "2")];
        open_tasks_are_capped_per_user,
        emails_never_wait_behind_tasks,
    );
}

/// Twenty reset requests for one victim from one address: one email, and the same answer
/// and the same work (one queued job) for an address with no account.
async fn reset_emails_are_limited_per_account(app: TestApp) {
    app.signed_up_user("victim").await;
    let requests =
        (0..20).map(|_| app.post_auth("forgot-password", json!({"email": "victim@example.com"})));
    for response in join_all(requests).await {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    app.wait_for_mail("victim@example.com", "Reset").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let resets = app
        .mails()
        .into_iter()
        .filter(|m| m.to == "victim@example.com" && m.subject.contains("Reset"))
        .count();
    assert_eq!(resets, 1);

    let jobs = || async {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let db = Database::connect(&app.database_url).await.unwrap();
        let sql = "SELECT count(*) AS n FROM tasks WHERE kind = 'send_email'";
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    let before = jobs().await;
    app.post_auth(
        "forgot-password",
        json!({"email": "nobody-here@example.com"}),
    )
    .await;
    assert_eq!(
        jobs().await,
        before + 1,
        "an unknown address costs the same work"
    );
}

mod reset_emails {
    use super::*;
    crate::on_every_backend!(reset_emails_are_limited_per_account);
}

/// Every byte of the avatar request counts against the cap, whatever field carries it.
async fn avatar_uploads_count_every_byte(app: TestApp) {
    let access = token(&app.signed_up_user("uploader").await, "access_token");
    let png = {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend_from_slice(&8u32.to_be_bytes());
        bytes.extend_from_slice(&8u32.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0]);
        bytes
    };
    let junk = reqwest::multipart::Part::bytes(vec![b'x'; 3 * 1024 * 1024]);
    let file = reqwest::multipart::Part::bytes(png)
        .file_name("me.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .part("padding", junk)
        .part("file", file);
    let response = app
        .with_token(Method::PUT, "/api/v1/users/me/avatar", &access)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

/// A chunked body (no length declared) that never ends: the server answers 413 once the
/// count passes the cap, while the client is still sending, instead of reading on.
async fn a_chunked_avatar_body_is_cut_off_at_the_cap(app: TestApp) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let access = token(&app.signed_up_user("streamer").await, "access_token");
    let host = app.base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let boundary = "gatehouse-test-boundary";
    let head = format!(
        "PUT /api/v1/users/me/avatar HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {access}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    let part = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"padding\"\r\n\r\n");
    let chunk = |data: &[u8]| {
        let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
        framed.extend_from_slice(data);
        framed.extend_from_slice(b"\r\n");
        framed
    };
    writer.write_all(head.as_bytes()).await.unwrap();
    writer.write_all(&chunk(part.as_bytes())).await.unwrap();
    const ENOUGH: usize = 64 * 1024 * 1024;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let sender = tokio::spawn(async move {
        let junk = chunk(&[b'x'; 64 * 1024]);
        while counter.load(Ordering::SeqCst) < ENOUGH {
            if writer.write_all(&junk).await.is_err() {
                break;
            }
            counter.fetch_add(64 * 1024, Ordering::SeqCst);
        }
    });
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(20), reader.read(&mut answer))
        .await
        .expect("an answer while the upload goes on")
        .unwrap();
    let at = sent.load(Ordering::SeqCst);
    sender.abort();
    let status_line = String::from_utf8_lossy(&answer[..read]);
    assert!(
        status_line.starts_with("HTTP/1.1 413"),
        "{}",
        status_line.lines().next().unwrap_or_default()
    );
    assert!(
        at < ENOUGH,
        "answered after {at} bytes, before the client finished"
    );
}

mod uploads {
    use super::*;
    crate::on_every_backend!(
        avatar_uploads_count_every_byte,
        a_chunked_avatar_body_is_cut_off_at_the_cap,
    );
}

/// With `Secure` cookies, their names carry the `__Host-` prefix (Path=/, no Domain), and
/// only those names are read.
async fn secure_cookies_carry_the_host_prefix(app: TestApp) {
    app.signed_up_user("browser").await;
    let response = app.session_login("browser", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    for name in ["__Host-gatehouse_session", "__Host-gatehouse_csrf"] {
        let (_, attributes) = set_cookie(&response, name).unwrap_or_else(|| panic!("{name} set"));
        let lower = attributes.to_ascii_lowercase();
        assert!(
            lower.contains("secure") && lower.contains("path=/"),
            "{attributes}"
        );
        assert!(!lower.contains("domain"), "{attributes}");
    }
    assert!(set_cookie(&response, "gatehouse_session").is_none());
    let (session, _) = set_cookie(&response, "__Host-gatehouse_session").unwrap();
    let app = &app;
    let authenticated = |cookie: String| async move {
        let body: Value = app
            .client
            .get(app.url("/api/v1/sessions/current"))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["authenticated"].clone()
    };
    let with_prefix = authenticated(format!("__Host-gatehouse_session={session}")).await;
    assert_eq!(with_prefix, true);
    let without = authenticated(format!("gatehouse_session={session}")).await;
    assert_eq!(without, false, "only the name in use is read");
}

mod host_cookies {
    use super::*;
    crate::on_every_backend_with!([("GATEHOUSE_COOKIE_SECURE", "true")];
        secure_cookies_carry_the_host_prefix,
    );
}

async fn failed_login_from(app: &TestApp, address: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", address)
        .json(&json!({"email": format!("{}@example.com", uuid::Uuid::new_v4().simple()), "password": "wrong-password-1"}))
        .send()
        .await
        .unwrap()
        .status()
}

/// One IPv6 client owns a whole /64: its addresses share one per-address count.
async fn ipv6_clients_are_counted_by_their_64(app: TestApp) {
    for address in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"] {
        assert_eq!(
            failed_login_from(&app, address).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        failed_login_from(&app, "2001:db8:1:2::77").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        failed_login_from(&app, "2001:db8:1:3::1").await,
        StatusCode::UNAUTHORIZED,
        "the next /64 is another client"
    );
}

mod ipv6 {
    use super::*;
    crate::on_every_backend_with!([
        ("GATEHOUSE_LOGIN_FAILURES_PER_ADDRESS", "3"),
        ("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1, ::1"),
    ];
        ipv6_clients_are_counted_by_their_64,
    );
}
