//! What an operator watches: `/metrics` (checked here, and by promtool when installed) and
//! the documentation pages (served here, rendered by a headless Chromium when installed).

use std::path::Path;

use reqwest::{Method, StatusCode};

use crate::helpers::{PASSWORD, TestApp, token};

/// Small limits and no reuse grace, so the security counters move within one test.
const CONFIG: [(&str, &str); 2] = [
    ("GATEHOUSE_LOGIN_FAILURES_PER_ACCOUNT", "2"),
    ("GATEHOUSE_REFRESH_REUSE_GRACE", "0"),
];

/// The value of the sample with exactly this name and these labels (in any order).
fn sample(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut wanted: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    wanted.sort();
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, mut found) = match series.split_once('{') {
                Some((n, rest)) => (n, parse_labels(rest.strip_suffix('}')?)),
                None => (series, Vec::new()),
            };
            found.sort();
            (series_name == name && found == wanted).then(|| value.parse().ok())?
        })
}

/// `k="v",k2="v2"`; our label values hold no quotes (route templates do hold braces).
fn parse_labels(mut text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    while let Some((key, rest)) = text.split_once("=\"") {
        let Some((value, rest)) = rest.split_once('"') else {
            break;
        };
        labels.push((key.trim_start_matches(',').to_owned(), value.to_owned()));
        text = rest;
    }
    labels
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

fn count(exposition: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(exposition, name, labels).unwrap_or(0.0)
}

/// The recorder is one per process and tests run side by side: counters are compared as
/// "grew by at least", never as exact values.
async fn requests_are_counted_by_route_template_and_status(app: TestApp) {
    let user = app.signed_up_user("metrics-reader").await;
    let access = token(&user, "access_token");
    let someone = uuid::Uuid::new_v4().to_string();
    let status = app
        .with_token(Method::GET, &format!("/api/v1/users/{someone}"), &access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
        .to_string();
    let by_id = [
        ("method", "GET"),
        ("route", "/api/v1/users/{id}"),
        ("status", status.as_str()),
    ];
    let unmatched = [("method", "GET"), ("route", "unmatched"), ("status", "404")];
    let before = scrape(&app).await;
    for _ in 0..3 {
        app.with_token(Method::GET, &format!("/api/v1/users/{someone}"), &access)
            .send()
            .await
            .unwrap();
        app.get(&format!("/no/such/{someone}")).await;
    }
    let after = scrape(&app).await;

    let requests = "gatehouse_http_requests_total";
    assert!(count(&after, requests, &by_id) - count(&before, requests, &by_id) >= 3.0);
    assert!(count(&after, requests, &unmatched) - count(&before, requests, &unmatched) >= 3.0);
    assert!(
        !after.contains(&someone),
        "a raw path leaked into the labels"
    );
    let slowest = [by_id.as_slice(), &[("le", "+Inf")]].concat();
    let buckets = "gatehouse_http_request_duration_seconds_bucket";
    assert!(count(&after, buckets, &slowest) - count(&before, buckets, &slowest) >= 3.0);
    let fast = [by_id.as_slice(), &[("le", "10")]].concat();
    assert!(sample(&after, buckets, &fast).is_some(), "{after}");
    // This scrape itself is in flight while the exposition is rendered.
    assert!(count(&after, "gatehouse_http_requests_in_flight", &[]) >= 1.0);
}

async fn security_outcomes_are_counted(app: TestApp) {
    let user = app.signed_up_user("metrics-victim").await;
    let refresh = token(&user, "refresh_token");
    let before = scrape(&app).await;

    // A rotation, then the rotated token again: reuse.
    assert_eq!(app.refresh(&refresh).await.status(), StatusCode::OK);
    assert_eq!(
        app.refresh(&refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Two wrong passwords reach the account's limit; the third attempt is refused unread.
    for expected in [401, 401, 429] {
        let response = app
            .login("metrics-victim@example.com", "not-the-password")
            .await;
        assert_eq!(response.status().as_u16(), expected);
    }
    assert_eq!(
        app.login("metrics-nobody@example.com", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let after = scrape(&app).await;

    let grew = |name: &str, labels: &[(&str, &str)]| {
        count(&after, name, labels) - count(&before, name, labels)
    };
    let logins = "gatehouse_logins_total";
    assert!(
        grew(
            logins,
            &[("mode", "token"), ("outcome", "invalid_credentials")]
        ) >= 3.0
    );
    assert!(grew(logins, &[("mode", "token"), ("outcome", "rate_limited")]) >= 1.0);
    let refreshes = "gatehouse_token_refreshes_total";
    assert!(grew(refreshes, &[("outcome", "success")]) >= 1.0);
    assert!(grew(refreshes, &[("outcome", "invalid")]) >= 1.0);
    assert!(grew("gatehouse_refresh_reuse_detected_total", &[]) >= 1.0);
    let limit = [("limit", "login_account")];
    assert!(grew("gatehouse_rate_limit_rejections_total", &limit) >= 1.0);
    // Earlier, the successful login of the sign-up.
    assert!(count(&after, logins, &[("mode", "token"), ("outcome", "success")]) >= 1.0);
}

async fn pool_jobs_and_build_are_reported(app: TestApp) {
    // Registration queues the verification email.
    app.signed_up_user("metrics-jobs").await;
    let exposition = scrape(&app).await;
    let max = count(&exposition, "gatehouse_db_pool_max_connections", &[]);
    assert!(max >= 1.0, "{exposition}");
    let open = count(
        &exposition,
        "gatehouse_db_pool_connections",
        &[("state", "idle")],
    ) + count(
        &exposition,
        "gatehouse_db_pool_connections",
        &[("state", "in_use")],
    );
    // Gauges are set at each scrape by the app rendering it; other apps in this test process
    // render too, so only what holds for any of them is asserted.
    assert!(open >= 1.0, "{exposition}");
    assert!(count(&exposition, "gatehouse_jobs_queued_total", &[]) >= 1.0);
    assert!(sample(&exposition, "gatehouse_jobs_running", &[]).is_some());
    // The embedded worker sends the verification email: one successful run.
    let succeeded = [("outcome", "succeeded")];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while count(&scrape(&app).await, "gatehouse_job_runs_total", &succeeded) < 1.0 {
        assert!(std::time::Instant::now() < deadline, "no job run counted");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let version = [("version", env!("CARGO_PKG_VERSION"))];
    assert_eq!(
        sample(&exposition, "gatehouse_build_info", &version),
        Some(1.0)
    );
    for name in [
        "gatehouse_http_requests_total",
        "gatehouse_logins_total",
        "gatehouse_db_pool_connections",
    ] {
        assert!(exposition.contains(&format!("# HELP {name} ")), "{name}");
    }
}

crate::on_every_backend_with!(super::CONFIG;
    requests_are_counted_by_route_template_and_status,
    security_outcomes_are_counted,
    pool_jobs_and_build_are_reported,
    docs_pages_and_their_assets_are_served,
);

/// The exposition parses and lints clean with Prometheus's own checker.
#[cfg_attr(
    gatehouse_no_promtool,
    ignore = "needs promtool on PATH (Debian package prometheus)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exposition_passes_promtool() {
    let Some(promtool) = gatehouse_testing::program("promtool", "prometheus") else {
        return;
    };
    let app = TestApp::embedded().await;
    app.signed_up_user("promtool").await;
    app.login("promtool@example.com", "wrong-password-here")
        .await;
    let exposition = scrape(&app).await;
    let checked = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(exposition.as_bytes())
            .expect("exposition written");
        child.wait_with_output().expect("promtool ends")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(checked.status.success(), "promtool: {report}");
    assert!(report.trim().is_empty(), "promtool: {report}");
}

async fn docs_pages_and_their_assets_are_served(app: TestApp) {
    for path in ["/api/docs", "/api/docs/", "/api/redoc"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        let page = response.text().await.unwrap();
        assert!(
            !page.contains("https://"),
            "{path} loads something from outside"
        );
    }
    let initializer = app.get("/api/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status(), StatusCode::OK);
    assert!(initializer.text().await.unwrap().contains("/api/schema"));
    for script in [
        "/api/docs/swagger-ui-bundle.js",
        "/api/redoc/redoc.standalone.js",
    ] {
        let response = app.get(script).await;
        assert_eq!(response.status(), StatusCode::OK, "{script}");
        assert!(response.bytes().await.unwrap().len() > 100_000, "{script}");
    }
    crate::helpers::assert_error(
        app.get("/api/docs/no-such-file.js").await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

/// What a browser shows after the page's scripts ran, with the network closed to anything
/// but this machine (`--disable-background-networking` and friends keep Chromium from
/// calling home).
fn rendered(chromium: &Path, url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("gatehouse-chromium-{}", uuid::Uuid::new_v4()));
    let output = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=20000",
            "--timeout=60000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .output()
        .expect("chromium starts");
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[cfg_attr(
    gatehouse_no_chromium,
    ignore = "needs chromium on PATH (Debian package chromium)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swagger_ui_and_redoc_render_the_operations_in_a_browser() {
    let Some(chromium) = gatehouse_testing::program("chromium", "chromium") else {
        return;
    };
    let app = TestApp::embedded().await;
    let (swagger, redoc) = (app.url("/api/docs"), app.url("/api/redoc"));
    let (swagger, redoc) = tokio::task::spawn_blocking(move || {
        (rendered(&chromium, &swagger), rendered(&chromium, &redoc))
    })
    .await
    .unwrap();

    // Swagger UI: one "opblock" per operation, each showing its path.
    let operations = swagger.matches("opblock-summary-path").count();
    assert!(
        operations >= 40,
        "{operations} operations rendered:\n{swagger}"
    );
    assert!(swagger.contains("/api/v1/auth/login"), "{swagger}");
    // ReDoc: the operations' summaries, in its own sidebar and body.
    assert!(
        redoc.contains("Exchange a password for a token pair"),
        "{redoc}"
    );
    assert!(redoc.contains("/api/v1/products/{id}"), "{redoc}");
}

/// With a metrics token configured, `/metrics` is for the scraper that presents it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_metrics_token_is_required() {
    const METRICS_TOKEN: &str = "scraper-token-0123456789";
    let app = TestApp::embedded_with(&[("GATEHOUSE_METRICS_TOKEN", METRICS_TOKEN)]).await;
    crate::helpers::assert_error(
        app.get("/metrics").await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;
    for wrong in ["scraper-token-012345678", "scraper-token-01234567890", ""] {
        let response = app
            .with_token(Method::GET, "/metrics", wrong)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let response = app
        .with_token(Method::GET, "/metrics", METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("gatehouse_build_info")
    );
    // Probes stay open: an orchestrator checks them without credentials.
    assert_eq!(app.get("/health/live").await.status(), StatusCode::OK);
}
