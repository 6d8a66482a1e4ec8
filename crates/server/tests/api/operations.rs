use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

async fn every_response_has_a_request_id_and_security_headers(app: TestApp) {
    for path in ["/health/live", "/api/v1/users/me", "/nowhere"] {
        let response = app.get(path).await;
        let headers = response.headers();
        assert!(
            headers.get("x-request-id").is_some_and(|v| !v.is_empty()),
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
    }
    // A sane incoming id is kept for correlation; an unsafe one is replaced.
    let kept = app
        .client
        .get(app.url("/health/live"))
        .header("X-Request-Id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-123");
    let replaced = app
        .client
        .get(app.url("/health/live"))
        .header("X-Request-Id", "bad id\twith spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "bad id\twith spaces");
}

async fn health_reports_each_dependency(app: TestApp) {
    let response = app.get("/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["database"]["status"], "ok");
    assert_eq!(body["checks"]["cache"]["status"], "ok");
    for probe in ["/health/live", "/health/ready"] {
        assert_eq!(app.get(probe).await.status(), StatusCode::OK);
    }
}

async fn the_schema_describes_every_endpoint(app: TestApp) {
    let schema: Value = app.get("/api/schema").await.json().await.unwrap();
    assert!(schema["openapi"].as_str().unwrap().starts_with("3."));
    let paths = schema["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/logout-all", "post"),
        ("/api/v1/users/me", "get"),
        ("/api/v1/sessions", "post"),
        ("/api/v1/users/me/devices", "get"),
        ("/api/v1/users/me/devices/{id}", "delete"),
        ("/api/v1/sessions/current", "get"),
        ("/api/v1/sessions/current", "delete"),
        ("/api/v1/tasks", "post"),
        ("/api/v1/tasks/{id}", "get"),
        ("/api/v1/tasks/{id}", "delete"),
        ("/api/v1/categories", "get"),
        ("/api/v1/categories", "post"),
        ("/api/v1/categories/{id}", "get"),
        ("/api/v1/categories/{id}", "put"),
        ("/api/v1/categories/{id}", "patch"),
        ("/api/v1/categories/{id}", "delete"),
        ("/api/v1/products", "get"),
        ("/api/v1/products", "post"),
        ("/api/v1/products/{id}", "get"),
        ("/api/v1/products/{id}", "put"),
        ("/api/v1/products/{id}", "patch"),
        ("/api/v1/products/{id}", "delete"),
        ("/health", "get"),
        ("/health/live", "get"),
        ("/health/ready", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing"
        );
    }
    assert!(schema["components"]["securitySchemes"]["bearer"].is_object());
    assert!(schema["components"]["securitySchemes"]["session"].is_object());
}

crate::on_every_backend!(
    every_response_has_a_request_id_and_security_headers,
    health_reports_each_dependency,
    the_schema_describes_every_endpoint,
);

/// A Redis of our own that we can kill: the app must report it by name, and stay alive.
#[cfg_attr(
    gatehouse_no_redis_server,
    ignore = "needs redis-server on PATH (Debian package redis-server)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_naming_the_cache_when_redis_dies() {
    let Some(mut redis) = gatehouse_testing::OwnRedis::start().await else {
        return;
    };
    let app = TestApp::embedded_with(&[("GATEHOUSE_REDIS_URL", &redis.url())]).await;
    let healthy: Value = app.get("/health").await.json().await.unwrap();
    assert_eq!(healthy["checks"]["cache"]["status"], "ok", "{healthy}");

    redis.kill();
    let body = crate::helpers::assert_error(
        app.get("/health").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    )
    .await;
    assert_eq!(body["status"], "unhealthy");
    assert_eq!(body["checks"]["cache"]["status"], "unavailable");
    assert_eq!(body["checks"]["database"]["status"], "ok");
    assert!(body["error"].as_str().unwrap().contains("cache"));
    assert_eq!(
        app.get("/health/ready").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
}
