use reqwest::{Method, StatusCode};

use crate::helpers::TestApp;

const ALLOWED: &str = "https://app.example.com";

async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(Method::OPTIONS, app.url("/api/v1/auth/login"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type, x-csrf-token",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_listed_origins_get_credentialed_cors() {
    let app = TestApp::embedded_with(&[("GATEHOUSE_CORS_ORIGINS", ALLOWED)]).await;

    let allowed = preflight(&app, ALLOWED).await;
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(allowed.headers()["access-control-allow-origin"], ALLOWED);
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    let headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(headers.contains("x-csrf-token"), "{headers}");

    let foreign = preflight(&app, "https://evil.example").await;
    assert!(foreign.status().is_client_error());
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        foreign
            .headers()
            .get("access-control-allow-methods")
            .is_none()
    );
    let body: serde_json::Value = foreign.json().await.unwrap();
    assert!(body["code"].is_string(), "the standard error body: {body}");

    for (origin, expected) in [(ALLOWED, Some(ALLOWED)), ("https://evil.example", None)] {
        let response = app
            .client
            .get(app.url("/health/live"))
            .header("Origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let allow = response
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(allow.as_deref(), expected, "{origin}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_allow_list_no_origin_gets_cors_and_none_gets_a_wildcard() {
    let app = TestApp::embedded().await;
    let response = app
        .client
        .get(app.url("/health/live"))
        .header("Origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let foreign = preflight(&app, ALLOWED).await;
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
