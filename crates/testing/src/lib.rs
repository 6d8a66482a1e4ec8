//! Test support: real PostgreSQL and Redis for the contract and end-to-end suites.
//!
//! Services come from `GATEHOUSE_TEST_DATABASE_URL` / `GATEHOUSE_TEST_REDIS_URL`, else from
//! their default local addresses when something answers there, else from testcontainers when
//! a Docker engine answers ([`gatehouse_test_services`]). A suite that cannot have its service
//! is ignored when it is built (its crate's build script sets a `cfg`), so it is never counted
//! as passed; a test that was built to run and then finds its service gone fails.
//!
//! Also a real SMTP server ([`smtp`]) and a software passkey authenticator ([`passkeys`]).

pub mod passkeys;
pub mod smtp;

use std::sync::OnceLock;

use sea_orm::{ConnectionTrait, Database};
use testcontainers::ContainerAsync;
use testcontainers::runners::AsyncRunner;
use testcontainers_modules::{postgres::Postgres, redis::Redis};
use uuid::Uuid;

pub use gatehouse_test_services::required as services_required;
use gatehouse_test_services::{POSTGRES, REDIS, REDIS_CLUSTER, Service};

/// A test reached a service or program its build said was there: it must fail, not pass.
fn gone(what: String) -> ! {
    panic!(
        "{what}; it was there when this suite was built. Start it again, or rebuild to have \
         the suites that need it reported as ignored"
    )
}

/// An external program a check needs (a browser, a metrics linter), found on `PATH`. Checks
/// that need one are ignored when it was missing at build time (see
/// [`gatehouse_test_services::declare`]); one that runs without it fails.
pub fn program(name: &str, debian_package: &str) -> Option<std::path::PathBuf> {
    match gatehouse_test_services::find(name) {
        Some(path) => Some(path),
        None => gone(format!(
            "{name} is not installed (Debian package {debian_package})"
        )),
    }
}

/// The URL of `service`: configured, on its default address, or in a container.
async fn service_url(service: &Service, container: impl AsyncFnOnce() -> Option<String>) -> String {
    if let Some(url) = gatehouse_test_services::url(service) {
        return url;
    }
    if gatehouse_test_services::docker_engine()
        && let Some(url) = container().await
    {
        return url;
    }
    gone(gatehouse_test_services::service_missing(service))
}

/// A PostgreSQL database of its own for one test, dropped when this value is.
pub struct TestDatabase {
    /// URL of the fresh database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside any async context we could borrow; a short-lived runtime on its
        // own thread does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                admin.execute_unprepared(&sql).await.ok()?;
                admin.close().await.ok()
            })
        });
        let _ = cleanup.join();
    }
}

/// Replaces the database name in a `postgres://.../name?params` URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// A fresh PostgreSQL database. Always `Some` (a suite without PostgreSQL is ignored when
/// built, and one that loses it fails); the `Option` keeps the suites' `let Some(..)` shape.
pub async fn postgres() -> Option<TestDatabase> {
    let admin_url = service_url(&POSTGRES, container_postgres).await;
    let name = format!("gatehouse_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url)
        .await
        .expect("cannot reach the test PostgreSQL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("cannot create a test database");
    let _ = admin.close().await;
    Some(TestDatabase {
        url: with_database(&admin_url, &name),
        admin_url,
        name,
    })
}

/// Redis for one test: the URL and a key prefix no other test uses.
pub struct TestRedis {
    /// Server URL.
    pub url: String,
    /// Unique key prefix.
    pub prefix: String,
}

/// A Redis server and a fresh key prefix. Always `Some`, as [`postgres`].
pub async fn redis() -> Option<TestRedis> {
    let url = service_url(&REDIS, container_redis).await;
    Some(TestRedis {
        url,
        prefix: format!("gatehouse-test:{}:", Uuid::new_v4().simple()),
    })
}

/// A Redis Cluster and a fresh key prefix (no container: start one with
/// `scripts/redis-cluster.sh start`). Always `Some`, as [`postgres`].
pub async fn redis_cluster() -> Option<TestRedis> {
    let url = service_url(&REDIS_CLUSTER, async || None).await;
    Some(TestRedis {
        url,
        prefix: format!("gatehouse-test:{}:", Uuid::new_v4().simple()),
    })
}

// Containers are started once per test binary and kept for its lifetime (leaked on
// purpose: the process exit is their end, and the engine's reaper removes them).
static POSTGRES_CONTAINER: OnceLock<Option<String>> = OnceLock::new();
static REDIS_CONTAINER: OnceLock<Option<String>> = OnceLock::new();

async fn container_postgres() -> Option<String> {
    if let Some(url) = POSTGRES_CONTAINER.get() {
        return url.clone();
    }
    let url = match Postgres::default().start().await {
        Ok(container) => host_port(container, 5432)
            .await
            .map(|port| format!("postgres://postgres:postgres@127.0.0.1:{port}/postgres")),
        Err(_) => None,
    };
    POSTGRES_CONTAINER.get_or_init(|| url).clone()
}

async fn container_redis() -> Option<String> {
    if let Some(url) = REDIS_CONTAINER.get() {
        return url.clone();
    }
    let url = match Redis::default().start().await {
        Ok(container) => host_port(container, 6379)
            .await
            .map(|port| format!("redis://127.0.0.1:{port}")),
        Err(_) => None,
    };
    REDIS_CONTAINER.get_or_init(|| url).clone()
}

async fn host_port<I: testcontainers::Image>(
    container: ContainerAsync<I>,
    port: u16,
) -> Option<u16> {
    let host_port = container.get_host_port_ipv4(port).await.ok();
    Box::leak(Box::new(container));
    host_port
}

/// A SQLite database file of its own for one test, removed (with its WAL files) on drop.
pub struct TempSqlite(std::path::PathBuf);

impl TempSqlite {
    /// A fresh path in the temp directory; the file is created on first connect.
    pub fn new() -> Self {
        let name = format!("gatehouse-test-{}.db", Uuid::new_v4().simple());
        Self(std::env::temp_dir().join(name))
    }

    /// The sea-orm URL that creates and opens it.
    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.display())
    }
}

impl Default for TempSqlite {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A redis-server of the test's own, on a free port, that the test may kill and restart.
pub struct OwnRedis {
    /// The loopback port it listens on.
    pub port: u16,
    process: Option<std::process::Child>,
}

impl OwnRedis {
    /// Starts one; fails without a `redis-server` binary (tests that use it are ignored when
    /// it was missing at build time). Always `Some` but for a port that cannot be had.
    pub async fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let mut redis = Self {
            port,
            process: None,
        };
        if redis.spawn().is_err() {
            gone("redis-server cannot be started".into());
        }
        redis.wait_until_up().await;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()?;
        self.process = Some(child);
        Ok(())
    }

    async fn wait_until_up(&self) {
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not come up", self.port);
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.process.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().expect("redis-server restarts");
        self.wait_until_up().await;
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn swaps_the_database_name_keeping_credentials_and_parameters() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
