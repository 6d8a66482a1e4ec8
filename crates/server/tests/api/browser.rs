//! The admin console in a real browser: headless Chromium driven through chromedriver, found
//! by label and button text as a person would. An admin signs in (pressing Enter), finds a
//! user, deactivates them, sees it in the audit log, and retries a failed job; every main
//! page fits a 360 px screen. With `GATEHOUSE_CONSOLE_SCREENSHOTS=<dir>` the run also saves
//! the screenshots that docs/console.md shows.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp};

/// chromedriver on a port of its own, killed with this value.
struct Driver {
    process: Child,
    url: String,
}

impl Driver {
    async fn start(program: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not answer");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { process, url }
    }

    async fn browser(&self, chromium: &Path) -> Client {
        let profile =
            std::env::temp_dir().join(format!("gatehouse-console-{}", uuid::Uuid::new_v4()));
        let options = json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a browser session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The input a visible label names.
async fn field(browser: &Client, label: &str) -> Element {
    let label = browser
        .find(Locator::XPath(&format!(
            "//label[normalize-space()='{label}']"
        )))
        .await
        .unwrap_or_else(|_| panic!("a label {label:?}"));
    let id = label
        .attr("for")
        .await
        .unwrap()
        .expect("the label names its input");
    browser.find(Locator::Id(&id)).await.unwrap()
}

/// Clicks the button that says `text`.
async fn press(browser: &Client, text: &str) {
    browser
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{text}']"
        )))
        .await
        .unwrap_or_else(|_| panic!("a button {text:?}"))
        .click()
        .await
        .unwrap();
}

/// Follows the link that says `text`.
async fn follow(browser: &Client, text: &str) {
    browser
        .find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|_| panic!("a link {text:?}"))
        .click()
        .await
        .unwrap();
}

/// The text of the page's `main`; empty while a page is still loading.
async fn page_text(browser: &Client) -> String {
    match browser.find(Locator::Css("main")).await {
        Ok(main) => main.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Whether the page is wider than the window (a horizontal scrollbar for the whole page).
async fn overflows(browser: &Client) -> bool {
    let widths = browser
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    widths[0].as_f64().unwrap() > widths[1].as_f64().unwrap()
}

async fn screenshot(browser: &Client, dir: Option<&PathBuf>, name: &str) {
    if let Some(dir) = dir {
        let png = browser.screenshot().await.unwrap();
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// Waits until the browser is at a URL containing `part` and the page has loaded.
async fn arrive(browser: &Client, part: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let url = browser.current_url().await.unwrap().to_string();
        if url.contains(part) {
            let text = page_text(browser).await;
            if !text.is_empty() {
                return text;
            }
        }
        if Instant::now() >= deadline {
            panic!(
                "never reached {part:?}: at {url}: {}",
                browser.source().await.unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reloads until the page's text has `wanted`.
async fn reload_until(browser: &Client, wanted: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = page_text(browser).await;
        if text.contains(wanted) {
            return text;
        }
        assert!(Instant::now() < deadline, "never showed {wanted:?}: {text}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.refresh().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(gatehouse_no_chromium, gatehouse_no_chromedriver),
    ignore = "needs chromium and chromedriver on PATH (Debian packages chromium, chromium-driver)"
)]
async fn an_admin_works_through_the_console_in_a_browser() {
    let Some(chromium) = gatehouse_testing::program("chromium", "chromium") else {
        return;
    };
    let Some(chromedriver) = gatehouse_testing::program("chromedriver", "chromium-driver") else {
        return;
    };
    let shots = std::env::var_os("GATEHOUSE_CONSOLE_SCREENSHOTS").map(PathBuf::from);
    // SMTP that refuses connections: the welcome email's job fails, for the Retry button.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::embedded_with(&[
        ("GATEHOUSE_SMTP_URL", smtp.as_str()),
        ("GATEHOUSE_JOB_MAX_ATTEMPTS", "2"),
    ])
    .await;
    app.signed_in_admin("chief").await;
    assert_eq!(
        app.register("ada@example.com", "ada").await.status(),
        StatusCode::CREATED
    );
    let driver = Driver::start(&chromedriver).await;
    let browser = driver.browser(&chromium).await;

    // Sign in with the keyboard: type, then Enter in the password field.
    browser.goto(&app.url("/admin/")).await.unwrap();
    assert!(
        browser
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/admin/login")
    );
    screenshot(&browser, shots.as_ref(), "sign-in").await;
    field(&browser, "Email or username")
        .await
        .send_keys("chief")
        .await
        .unwrap();
    field(&browser, "Password")
        .await
        .send_keys(&format!("{PASSWORD}\u{E007}"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while browser.current_url().await.unwrap().path() != "/admin/" {
        if Instant::now() >= deadline {
            let url = browser.current_url().await.unwrap();
            panic!(
                "Enter did not sign in: {url} {}",
                browser.source().await.unwrap()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let dashboard = reload_until(&browser, "Failed logins").await;
    assert!(dashboard.contains("New this week"), "{dashboard}");
    screenshot(&browser, shots.as_ref(), "dashboard").await;

    // Find ada and deactivate her.
    follow(&browser, "Users").await;
    arrive(&browser, "/admin/users").await;
    field(&browser, "Search")
        .await
        .send_keys("ADA")
        .await
        .unwrap();
    press(&browser, "Find users").await;
    arrive(&browser, "search=ADA").await;
    screenshot(&browser, shots.as_ref(), "users").await;
    follow(&browser, "ada@example.com").await;
    arrive(&browser, "/admin/users/").await;
    press(&browser, "Deactivate").await;
    let user = arrive(&browser, "done=deactivated").await;
    assert!(user.contains("The user is deactivated"), "{user}");
    browser
        .find(Locator::XPath("//button[normalize-space()='Activate']"))
        .await
        .expect("the page now offers Activate");
    screenshot(&browser, shots.as_ref(), "user").await;
    let refused = app.login("ada@example.com", PASSWORD).await;
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "ada cannot sign in"
    );

    // The audit log shows it, filtered by type.
    follow(&browser, "Audit log").await;
    arrive(&browser, "/admin/audit").await;
    field(&browser, "Type")
        .await
        .select_by_value("user_deactivated")
        .await
        .unwrap();
    press(&browser, "Filter events").await;
    arrive(&browser, "type=user_deactivated").await;
    let events = browser.find(Locator::Css("tbody")).await.unwrap();
    let log = events.text().await.unwrap();
    assert!(log.contains("user_deactivated"), "{log}");
    assert!(!log.contains("login_succeeded"), "filtered: {log}");
    screenshot(&browser, shots.as_ref(), "audit-log").await;

    // The failed email job: retry it, and watch its attempts grow.
    follow(&browser, "Jobs").await;
    arrive(&browser, "/admin/jobs").await;
    reload_until(&browser, "FAILURE").await;
    field(&browser, "State")
        .await
        .select_by_value("FAILURE")
        .await
        .unwrap();
    press(&browser, "Filter jobs").await;
    arrive(&browser, "status=FAILURE").await;
    screenshot(&browser, shots.as_ref(), "jobs").await;
    browser
        .find(Locator::Css("tbody a"))
        .await
        .expect("a failed job")
        .click()
        .await
        .unwrap();
    arrive(&browser, "/admin/jobs/").await;
    let attempts = browser.find(Locator::Id("job-attempts")).await.unwrap();
    assert_eq!(attempts.text().await.unwrap(), "2");
    screenshot(&browser, shots.as_ref(), "job").await;
    press(&browser, "Retry").await;
    let retried = arrive(&browser, "done=retried").await;
    assert!(
        retried.contains("The job is back in the queue."),
        "{retried}"
    );
    // The same job ran once more and failed again (SMTP is still down).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text_of = |id: &'static str| {
            let browser = &browser;
            async move {
                let element = browser.find(Locator::Id(id)).await.unwrap();
                element.text().await.unwrap()
            }
        };
        let (status, attempts) = (text_of("job-status").await, text_of("job-attempts").await);
        if (status.as_str(), attempts.as_str()) == ("FAILURE", "3") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} after {attempts} attempts"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.refresh().await.unwrap();
    }

    // Every main page fits a 360 px wide screen.
    browser.set_window_size(360, 800).await.unwrap();
    for path in [
        "/admin/",
        "/admin/users",
        "/admin/catalog",
        "/admin/pre-registrations",
        "/admin/audit",
        "/admin/jobs",
    ] {
        browser.goto(&app.url(path)).await.unwrap();
        assert!(!overflows(&browser).await, "{path} is wider than 360 px");
    }
    browser.goto(&app.url("/admin/users")).await.unwrap();
    screenshot(&browser, shots.as_ref(), "users-360px").await;
    browser.close().await.unwrap();
}
