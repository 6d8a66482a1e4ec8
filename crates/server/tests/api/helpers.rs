use std::collections::HashMap;

use gatehouse::{Application, Config};
use gatehouse_testing::{TempSqlite, TestDatabase};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// A running Gatehouse and a client for it. Keeps its database alive while it lives.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: gatehouse_http::AppState,
    /// Where the development mailer writes this app's emails.
    pub mail_dir: std::path::PathBuf,
    /// The app's database URL.
    pub database_url: String,
    _sqlite: Option<TempSqlite>,
    _postgres: Option<TestDatabase>,
}

pub const PASSWORD: &str = "violet-tractor-42";

/// The master key every test app seals its signing keys under (32 bytes, base64).
pub const MASTER_KEY: &str = "ZW5kLXRvLWVuZC10ZXN0LW1hc3Rlci1rZXktMDEyMzQ=";

/// An HS256 secret, for the tests of HS256 deployments and of the move away from them.
pub const JWT_SECRET: &str = "end-to-end-test-secret-0123456789abcdef";

fn base_vars() -> HashMap<&'static str, String> {
    HashMap::from([
        ("GATEHOUSE_ADDR", "127.0.0.1:0".to_owned()),
        ("GATEHOUSE_BCRYPT_COST", "4".to_owned()),
        ("GATEHOUSE_WORKERS", "2".to_owned()),
        ("GATEHOUSE_MASTER_KEY", MASTER_KEY.to_owned()),
        // Jobs run in the app (the embedded worker) and quickly.
        ("GATEHOUSE_TASK_STEP_MS", "100".to_owned()),
        ("GATEHOUSE_JOB_BACKOFF_MS", "100".to_owned()),
        (
            "GATEHOUSE_MAIL_DIR",
            std::env::temp_dir()
                .join(format!("gatehouse-mail-{}", uuid::Uuid::new_v4()))
                .display()
                .to_string(),
        ),
        (
            "GATEHOUSE_MEDIA_DIR",
            std::env::temp_dir()
                .join(format!("gatehouse-media-{}", uuid::Uuid::new_v4()))
                .display()
                .to_string(),
        ),
    ])
}

impl TestApp {
    /// The embedded default: a SQLite file of its own and in-memory stores.
    pub async fn embedded() -> Self {
        Self::embedded_with(&[]).await
    }

    /// The embedded default with extra configuration.
    pub async fn embedded_with(extra: &[(&'static str, &str)]) -> Self {
        let sqlite = TempSqlite::new();
        let mut vars = base_vars();
        vars.insert("GATEHOUSE_DATABASE_URL", sqlite.url());
        vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        let mut app = Self::start(vars).await;
        app._sqlite = Some(sqlite);
        app
    }

    /// PostgreSQL (a database of its own) and Redis (a key prefix of its own).
    pub async fn shared() -> Option<Self> {
        Self::shared_with(&[]).await
    }

    /// PostgreSQL and Redis with extra configuration.
    pub async fn shared_with(extra: &[(&'static str, &str)]) -> Option<Self> {
        let postgres = gatehouse_testing::postgres().await?;
        let redis = gatehouse_testing::redis().await?;
        let mut vars = base_vars();
        vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        vars.insert("GATEHOUSE_DATABASE_URL", postgres.url.clone());
        vars.insert("GATEHOUSE_REDIS_URL", redis.url);
        vars.insert("GATEHOUSE_REDIS_PREFIX", redis.prefix);
        let mut app = Self::start(vars).await;
        app._postgres = Some(postgres);
        Some(app)
    }

    /// Two instances on one PostgreSQL database and one Redis prefix, as behind a load
    /// balancer. The first owns the database.
    pub async fn shared_pair(extra: &[(&'static str, &str)]) -> Option<(Self, Self)> {
        Self::shared_pair_with(extra, extra).await
    }

    /// Two instances on one database and Redis, configured apart (a rollout in progress):
    /// the first started first, and owns the database.
    pub async fn shared_pair_with(
        first_extra: &[(&'static str, &str)],
        second_extra: &[(&'static str, &str)],
    ) -> Option<(Self, Self)> {
        let postgres = gatehouse_testing::postgres().await?;
        let redis = gatehouse_testing::redis().await?;
        let mut vars = base_vars();
        vars.insert("GATEHOUSE_DATABASE_URL", postgres.url.clone());
        vars.insert("GATEHOUSE_REDIS_URL", redis.url);
        vars.insert("GATEHOUSE_REDIS_PREFIX", redis.prefix);
        let with = |extra: &[(&'static str, &str)]| {
            let mut vars = vars.clone();
            vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            vars
        };
        let mut first = Self::start(with(first_extra)).await;
        let second = Self::start(with(second_extra)).await;
        first._postgres = Some(postgres);
        Some((first, second))
    }

    /// Another instance on this embedded app's database (its own in-memory stores), with
    /// extra configuration: a restart, or a second process of another release or setting.
    pub async fn another_instance(&self, extra: &[(&'static str, &str)]) -> Self {
        let mut vars = base_vars();
        vars.insert("GATEHOUSE_DATABASE_URL", self.database_url.clone());
        vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        Self::start(vars).await
    }

    async fn start(vars: HashMap<&'static str, String>) -> Self {
        let config =
            Config::from_lookup(|name| vars.get(name).cloned()).expect("test configuration");
        let app = Application::build(&config, true)
            .await
            .expect("application starts");
        let base = format!("http://{}", app.addr());
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        Self {
            base,
            client: reqwest::Client::new(),
            state,
            mail_dir: config.mail.dir.clone(),
            database_url: config.database.url.clone(),
            _sqlite: None,
            _postgres: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// `POST /api/v1/auth/{path}` with a JSON body.
    pub async fn post_auth(&self, path: &str, body: Value) -> Response {
        self.post_json(&format!("/api/v1/auth/{path}"), &body).await
    }

    pub async fn register(&self, email: &str, username: &str) -> Response {
        let body = json!({"email": email, "username": username, "password": PASSWORD, "password_confirm": PASSWORD});
        self.post_json("/api/v1/auth/register", &body).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Registers and logs in a fresh user; returns the login body.
    pub async fn signed_up_user(&self, name: &str) -> Value {
        let email = format!("{name}@example.com");
        assert_eq!(
            self.register(&email, name).await.status(),
            StatusCode::CREATED
        );
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("login body")
    }

    /// Verifies `email`'s account through the link its verification email carries.
    pub async fn verify_email(&self, email: &str) {
        let mail = self.wait_for_mail(email, "Confirm your email").await;
        let response = self
            .post_auth("verify-email", json!({"token": mail.token("verify-email")}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    pub async fn me(&self, access_token: &str) -> Response {
        self.client
            .get(self.url("/api/v1/users/me"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn logout_all(&self, access_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/logout-all"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/refresh"))
            .header("X-Refresh-Token", refresh_token)
            .send()
            .await
            .expect("request sent")
    }
}

impl TestApp {
    /// A request with a bearer token.
    pub fn with_token(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// A GET with a bearer token, read as JSON.
    pub async fn get_json(&self, path: &str, bearer: &str) -> Value {
        self.with_token(reqwest::Method::GET, path, bearer)
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("a JSON body")
    }

    /// An admin made the operator's way (the CLI's service call), signed in; returns the
    /// login body.
    pub async fn signed_in_admin(&self, name: &str) -> Value {
        let email = format!("{name}@example.com");
        let input = gatehouse_application::NewUserInput {
            email: email.clone(),
            username: name.to_owned(),
            password: PASSWORD.into(),
            password_confirm: PASSWORD.into(),
            first_name: None,
            last_name: None,
        };
        self.state
            .users
            .create_superuser(input)
            .await
            .expect("superuser created");
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("login body")
    }
}

/// One email the app sent, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// Parses a raw RFC 5322 message.
    pub fn parse(raw: &[u8]) -> Self {
        let message = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("a parseable email");
        Self {
            to: message
                .to()
                .and_then(|to| to.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned(),
            subject: message.subject().unwrap_or_default().to_owned(),
            text: message.body_text(0).unwrap_or_default().into_owned(),
            html: message.body_html(0).unwrap_or_default().into_owned(),
        }
    }

    /// The token of the `{public}/{path}?token=` link in the text part.
    pub fn token(&self, path: &str) -> String {
        let marker = format!("/{path}?token=");
        let start = self.text.find(&marker).expect("the email has the link") + marker.len();
        self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}

impl TestApp {
    /// Every email the development mailer has written so far.
    pub fn mails(&self) -> Vec<Mail> {
        let Ok(entries) = std::fs::read_dir(&self.mail_dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .filter_map(|path| std::fs::read(path).ok())
            .map(|raw| Mail::parse(&raw))
            .collect()
    }

    /// Waits (up to 15 s) for `count` emails to `to` whose subject contains `subject`.
    pub async fn wait_for_mails(&self, to: &str, subject: &str, count: usize) -> Vec<Mail> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let found: Vec<Mail> = self
                .mails()
                .into_iter()
                .filter(|m| m.to == to && m.subject.contains(subject))
                .collect();
            if found.len() >= count || std::time::Instant::now() >= deadline {
                assert!(
                    found.len() >= count,
                    "expected {count} {subject:?} emails to {to}, got {found:?}"
                );
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Waits for one email to `to` whose subject contains `subject`.
    pub async fn wait_for_mail(&self, to: &str, subject: &str) -> Mail {
        self.wait_for_mails(to, subject, 1).await.remove(0)
    }

    /// Polls a task (as `token`'s user) until it is final or 15 s pass.
    pub async fn wait_for_task(&self, id: &str, token: &str, until: &[&str]) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let response = self
                .with_token(reqwest::Method::GET, &format!("/api/v1/tasks/{id}"), token)
                .send()
                .await
                .expect("request sent");
            assert_eq!(response.status(), StatusCode::OK);
            let task: Value = response.json().await.expect("task body");
            let status = task["status"].as_str().unwrap_or_default().to_owned();
            if until.contains(&status.as_str()) || std::time::Instant::now() >= deadline {
                return task;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

pub fn token(body: &Value, name: &str) -> String {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} missing in {body}"))
        .to_owned()
}

/// Asserts the standard error body with this status and code; returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let request_id = response.headers().get("x-request-id").cloned();
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert!(body["details"].is_object(), "{body}");
    let id = request_id.expect("X-Request-Id header");
    assert_eq!(body["request_id"], id.to_str().unwrap(), "{body}");
    body
}

/// A browser's view of a cookie session: the two cookie values.
pub struct Browser {
    pub session: String,
    pub csrf: String,
}

impl Browser {
    pub fn cookie_header(&self) -> String {
        format!(
            "gatehouse_session={}; gatehouse_csrf={}",
            self.session, self.csrf
        )
    }
}

/// The value of cookie `name` among a response's `Set-Cookie` headers, with its attributes.
pub fn set_cookie(response: &Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|header| {
            let header = header.to_str().ok()?;
            let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| (value.to_owned(), attributes.to_owned()))
        })
}

impl TestApp {
    /// `POST /api/v1/sessions`, optionally carrying an existing session cookie.
    pub async fn session_login(&self, username: &str, carried: Option<&str>) -> Response {
        let mut request = self
            .client
            .post(self.url("/api/v1/sessions"))
            .json(&json!({"username": username, "password": PASSWORD}));
        if let Some(cookie) = carried {
            request = request.header("Cookie", format!("gatehouse_session={cookie}"));
        }
        request.send().await.expect("request sent")
    }

    /// Registers `username` and logs in with a session.
    pub async fn signed_in_browser(&self, username: &str) -> Browser {
        let email = format!("{username}@example.com");
        assert_eq!(
            self.register(&email, username).await.status(),
            StatusCode::CREATED
        );
        self.browser_for(username).await
    }

    /// A cookie session for an existing user.
    pub async fn browser_for(&self, username: &str) -> Browser {
        let response = self.session_login(username, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let (session, _) = set_cookie(&response, "gatehouse_session").expect("session cookie");
        let (csrf, _) = set_cookie(&response, "gatehouse_csrf").expect("csrf cookie");
        Browser { session, csrf }
    }

    pub async fn get_as(&self, browser: &Browser, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header("Cookie", browser.cookie_header())
            .send()
            .await
            .expect("request sent")
    }

    pub async fn current_session(&self, browser: &Browser) -> Value {
        let response = self.get_as(browser, "/api/v1/sessions/current").await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("session body")
    }
}
