//! Instances serve an authenticated request's account from a copy they keep (one Redis round
//! trip, no SQL). No copy may outlive a write: a role, permission, profile, credit or
//! active-flag change made on one instance shows on the very next request on another, through
//! a bearer token and through a cookie session, also while that instance is busy refreshing
//! its copy of the same account. The same holds for the pages of the user directory.

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Browser, TestApp};

/// A user's view of the world on one instance: bearer and cookie.
struct Caller<'a> {
    app: &'a TestApp,
    token: String,
    browser: Browser,
}

impl Caller<'_> {
    async fn status(&self, path: &str) -> (StatusCode, StatusCode) {
        let bearer = self
            .app
            .with_token(Method::GET, path, &self.token)
            .send()
            .await
            .unwrap()
            .status();
        let cookie = self
            .app
            .client
            .get(self.app.url(path))
            .header("Cookie", self.browser.cookie_header())
            .send()
            .await
            .unwrap()
            .status();
        (bearer, cookie)
    }

    /// The account as `me` shows it to the token, and as the session shows it.
    async fn accounts(&self) -> (Value, Value) {
        let me = self.app.get_json("/api/v1/users/me", &self.token).await;
        let current: Value = self
            .app
            .client
            .get(self.app.url("/api/v1/sessions/current"))
            .header("Cookie", self.browser.cookie_header())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (me, current["user"].clone())
    }
}

async fn admin_patch(app: &TestApp, admin: &str, path: &str, body: Value) {
    let response = app
        .with_token(Method::PATCH, path, admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path} {body}");
}

/// Writes go to `writer`, reads to `reader` (the same instance on the embedded default).
async fn every_account_write_shows_on_the_next_request(writer: &TestApp, reader: &TestApp) {
    let admin = writer.signed_in_admin("copies-admin").await;
    let admin = admin["access_token"].as_str().unwrap().to_owned();
    let login = writer.signed_up_user("copies-user").await;
    let caller = Caller {
        app: reader,
        token: login["access_token"].as_str().unwrap().to_owned(),
        browser: reader.browser_for("copies-user").await,
    };
    let id = caller.accounts().await.0["id"].as_str().unwrap().to_owned();
    let user_path = format!("/api/v1/users/{id}");
    let lookup = "/api/v1/users/lookup?email=copies-admin@example.com";
    let forbidden = (StatusCode::FORBIDDEN, StatusCode::FORBIDDEN);
    let allowed = (StatusCode::OK, StatusCode::OK);

    // Each step first reads on the reader (so it holds a copy), then writes on the writer.
    assert_eq!(caller.status(lookup).await, forbidden);
    admin_patch(writer, &admin, &user_path, json!({"role": "admin"})).await;
    assert_eq!(caller.status(lookup).await, allowed, "promoted");
    admin_patch(writer, &admin, &user_path, json!({"role": "user"})).await;
    assert_eq!(caller.status(lookup).await, forbidden, "demoted");
    admin_patch(
        writer,
        &admin,
        &user_path,
        json!({"permissions": ["can_view_users"]}),
    )
    .await;
    assert_eq!(caller.status(lookup).await, allowed, "granted");
    admin_patch(writer, &admin, &user_path, json!({"permissions": []})).await;
    assert_eq!(caller.status(lookup).await, forbidden, "withdrawn");

    assert_eq!(caller.accounts().await.0["first_name"], json!(""));
    let renamed = writer
        .with_token(Method::PATCH, "/api/v1/users/me", &caller.token)
        .json(&json!({"first_name": "Renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    let (me, session_user) = caller.accounts().await;
    assert_eq!(
        (me["first_name"].clone(), session_user["first_name"].clone()),
        (json!("Renamed"), json!("Renamed"))
    );

    let granted = writer
        .with_token(Method::POST, &format!("{user_path}/credits"), &admin)
        .json(&json!({"amount": 7, "reason": "copies"}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::CREATED);
    let (me, session_user) = caller.accounts().await;
    assert_eq!(
        (me["credits"].clone(), session_user["credits"].clone()),
        (json!(7), json!(7))
    );

    // Directory pages are kept too: a rename and a new account show on the next page read.
    let names = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|user| {
                format!(
                    "{}:{}",
                    user["username"].as_str().unwrap(),
                    user["first_name"].as_str().unwrap()
                )
            })
            .collect()
    };
    assert!(
        names(&reader.get_json("/api/v1/users?limit=100", &admin).await)
            .contains(&"copies-user:Renamed".to_owned())
    );
    let renamed = writer
        .with_token(Method::PATCH, "/api/v1/users/me", &caller.token)
        .json(&json!({"first_name": "Paged"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::OK);
    assert!(
        names(&reader.get_json("/api/v1/users?limit=100", &admin).await)
            .contains(&"copies-user:Paged".to_owned())
    );
    writer.signed_up_user("copies-newcomer").await;
    assert!(
        names(&reader.get_json("/api/v1/users?limit=100", &admin).await)
            .contains(&"copies-newcomer:".to_owned())
    );

    let deactivated = writer
        .with_token(Method::DELETE, &user_path, &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(deactivated.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        caller.status("/api/v1/users/me").await,
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED),
        "deactivated"
    );
}

/// A reader hammering the account while the writer renames it, round after round: however
/// the reader's refreshes of its copy interleave with the writes, the request after a write
/// answered sees that write.
async fn no_copy_taken_during_a_write_outlives_it(writer: &TestApp, reader: &TestApp) {
    let login = writer.signed_up_user("copies-race").await;
    let token = login["access_token"].as_str().unwrap().to_owned();
    for round in 0..25 {
        let name = format!("Round{round}");
        let readers = (0..6).map(|_| reader.me(&token));
        let write = writer
            .with_token(Method::PATCH, "/api/v1/users/me", &token)
            .json(&json!({"first_name": name}))
            .send();
        let (written, read) = tokio::join!(write, join_all(readers));
        assert_eq!(written.unwrap().status(), StatusCode::OK);
        assert!(read.iter().all(|r| r.status() == StatusCode::OK));
        let me = reader.get_json("/api/v1/users/me", &token).await;
        assert_eq!(me["first_name"], json!(name), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_every_account_write_shows_on_the_next_request() {
    let app = TestApp::embedded().await;
    every_account_write_shows_on_the_next_request(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_no_copy_taken_during_a_write_outlives_it() {
    let app = TestApp::embedded().await;
    no_copy_taken_during_a_write_outlives_it(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
)]
async fn across_two_instances_every_account_write_shows_on_the_next_request() {
    let Some((a, b)) = TestApp::shared_pair(&[]).await else {
        return;
    };
    every_account_write_shows_on_the_next_request(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_postgres, gatehouse_no_redis),
    ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
)]
async fn across_two_instances_no_copy_taken_during_a_write_outlives_it() {
    let Some((a, b)) = TestApp::shared_pair(&[]).await else {
        return;
    };
    no_copy_taken_during_a_write_outlives_it(&a, &b).await;
}
