//! Background tasks through their whole lifecycle, run by the app's embedded worker.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, token};

async fn submit(app: &TestApp, access: &str, body: Value) -> reqwest::Response {
    app.with_token(Method::POST, "/api/v1/tasks", access)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn queued(app: &TestApp, access: &str, body: Value) -> String {
    let response = submit(app, access, body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], json!("PENDING"));
    body["id"].as_str().unwrap().to_owned()
}

async fn tasks_run_to_success_or_failure(app: TestApp) {
    let access = token(&app.signed_up_user("ada").await, "access_token");
    let sum = queued(&app, &access, json!({"type": "add", "x": 2, "y": 40.5})).await;
    let task = app
        .wait_for_task(&sum, &access, &["SUCCESS", "FAILURE"])
        .await;
    assert_eq!(
        (task["status"].clone(), task["result"].clone()),
        (json!("SUCCESS"), json!(42.5))
    );
    assert_eq!(
        (task["type"].clone(), task["attempts"].clone()),
        (json!("add"), json!(1))
    );
    for field in ["created_at", "started_at", "finished_at"] {
        assert!(task[field].is_string(), "{field}: {task}");
    }

    let data = json!({"type": "process_data", "data": {"b": [1, "two"], "a": null}});
    let summary = queued(&app, &access, data).await;
    let task = app
        .wait_for_task(&summary, &access, &["SUCCESS", "FAILURE"])
        .await;
    assert_eq!(task["result"]["keys"], json!(["a", "b"]));
    assert_eq!(task["result"]["counts"]["number"], json!(1));

    let overflow = queued(
        &app,
        &access,
        json!({"type": "add", "x": 1e308, "y": 1e308}),
    )
    .await;
    let task = app
        .wait_for_task(&overflow, &access, &["SUCCESS", "FAILURE"])
        .await;
    assert_eq!(task["status"], json!("FAILURE"));
    assert!(task["error"].as_str().unwrap().contains("finite"));
    assert_eq!(task["result"], Value::Null);
}

async fn running_tasks_can_be_revoked(app: TestApp) {
    let access = token(&app.signed_up_user("ada").await, "access_token");
    let long = queued(
        &app,
        &access,
        json!({"type": "long_running", "seconds": 3600}),
    )
    .await;
    let task = app.wait_for_task(&long, &access, &["STARTED"]).await;
    assert_eq!(task["status"], json!("STARTED"));
    let response = app
        .with_token(Method::DELETE, &format!("/api/v1/tasks/{long}"), &access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], json!("REVOKED"));
    // The worker lets go of it: the next task runs.
    let next = queued(&app, &access, json!({"type": "add", "x": 1, "y": 1})).await;
    let next = app
        .wait_for_task(&next, &access, &["SUCCESS", "FAILURE"])
        .await;
    assert_eq!(next["status"], json!("SUCCESS"));
    let task = app.wait_for_task(&long, &access, &["REVOKED"]).await;
    assert_eq!(
        (task["status"].clone(), task["result"].clone()),
        (json!("REVOKED"), Value::Null)
    );
    // Revoking a finished task changes nothing.
    let response = app
        .with_token(
            Method::DELETE,
            &format!("/api/v1/tasks/{}", next["id"].as_str().unwrap()),
            &access,
        )
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], json!("SUCCESS"));
}

async fn tasks_belong_to_their_owner(app: TestApp) {
    let ada = token(&app.signed_up_user("ada").await, "access_token");
    let bob = token(&app.signed_up_user("bob").await, "access_token");
    let root = token(&app.signed_in_admin("root").await, "access_token");
    let id = queued(&app, &ada, json!({"type": "add", "x": 1, "y": 2})).await;
    let path = format!("/api/v1/tasks/{id}");
    for method in [Method::GET, Method::DELETE] {
        let response = app
            .with_token(method.clone(), &path, &bob)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app
            .client
            .request(method, app.url(&path))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    }
    let response = app
        .with_token(Method::GET, &path, &root)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let unknown = format!("/api/v1/tasks/{}", uuid::Uuid::new_v4());
    let response = app
        .with_token(Method::GET, &unknown, &ada)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app
        .with_token(Method::GET, "/api/v1/tasks/42", &ada)
        .send()
        .await
        .unwrap();
    assert_error(response, StatusCode::BAD_REQUEST, "validation_error").await;
}

async fn bad_tasks_are_refused(app: TestApp) {
    let access = token(&app.signed_up_user("ada").await, "access_token");
    for body in [
        json!({"type": "launch_missiles"}),
        json!({"x": 1, "y": 2}),
        json!({"type": "add", "x": "1", "y": 2}),
        json!({"type": "add", "x": 1}),
        json!({"type": "long_running", "seconds": 0}),
        json!({"type": "long_running", "seconds": 3601}),
        json!({"type": "long_running", "seconds": -5}),
        json!({"type": "long_running", "seconds": 1e30}),
        json!({"type": "process_data", "data": "x".repeat(1024 * 1024)}),
        json!([1, 2, 3]),
    ] {
        let response = submit(&app, &access, body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body:.80}");
        let error: Value = response.json().await.unwrap();
        assert!(error["code"].is_string(), "{error}");
    }
    let anonymous = app
        .post_json("/api/v1/tasks", &json!({"type": "add", "x": 1, "y": 2}))
        .await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
}

crate::on_every_backend!(
    tasks_run_to_success_or_failure,
    running_tasks_can_be_revoked,
    tasks_belong_to_their_owner,
    bad_tasks_are_refused,
);

/// The same lifecycle with the queue in Redis (`GATEHOUSE_JOB_STORE=redis`).
mod redis_job_store {
    const REDIS_QUEUE: [(&str, &str); 1] = [("GATEHOUSE_JOB_STORE", "redis")];

    #[cfg_attr(
        any(gatehouse_no_postgres, gatehouse_no_redis),
        ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
    )]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_run_to_success_or_failure() {
        let Some(app) = crate::helpers::TestApp::shared_with(&REDIS_QUEUE).await else {
            return;
        };
        super::tasks_run_to_success_or_failure(app).await;
    }

    #[cfg_attr(
        any(gatehouse_no_postgres, gatehouse_no_redis),
        ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL"
    )]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn running_tasks_can_be_revoked() {
        let Some(app) = crate::helpers::TestApp::shared_with(&REDIS_QUEUE).await else {
            return;
        };
        super::running_tasks_can_be_revoked(app).await;
    }
}
