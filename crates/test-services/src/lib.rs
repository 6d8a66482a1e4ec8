//! Where the services and programs the test suites need are.
//!
//! A suite that cannot run must not be counted as passed. Rust's test harness cannot skip a
//! test once it runs, so the decision is made when the suite is built: a crate with such
//! suites calls [`declare`] from its build script, which finds each service (its variable,
//! else its default local address, else a Docker engine for testcontainers) and each program
//! (on `PATH`), and sets a `cfg` for what is missing. The tests carry
//! `#[cfg_attr(gatehouse_no_postgres, ignore = "...")]` and are reported as ignored, with how
//! to run them. A test that was built to run and then finds its service gone fails.
//!
//! `GATEHOUSE_TEST_REQUIRE_SERVICES=1` (CI) sets no such `cfg`: everything runs, and what is
//! missing fails.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// A server a suite talks to.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    /// What people call it.
    pub name: &'static str,
    /// The variable that names its URL.
    pub variable: &'static str,
    /// Where a development machine usually has it.
    pub default_address: &'static str,
    /// The URL used when it answers at `default_address`.
    pub default_url: &'static str,
    /// The `cfg` set when it cannot be had.
    pub missing_cfg: &'static str,
}

/// PostgreSQL: the database suites create a database of their own per test.
pub const POSTGRES: Service = Service {
    name: "PostgreSQL",
    variable: "GATEHOUSE_TEST_DATABASE_URL",
    default_address: "127.0.0.1:5432",
    default_url: "postgres://postgres@127.0.0.1:5432/postgres",
    missing_cfg: "gatehouse_no_postgres",
};

/// Redis: each test uses a key prefix of its own.
pub const REDIS: Service = Service {
    name: "Redis",
    variable: "GATEHOUSE_TEST_REDIS_URL",
    default_address: "127.0.0.1:6379",
    default_url: "redis://127.0.0.1:6379",
    missing_cfg: "gatehouse_no_redis",
};

/// A Redis Cluster (three masters on loopback: `scripts/redis-cluster.sh start`): the suites
/// of the stores that run on a cluster run on it too, each test under a key prefix of its
/// own.
pub const REDIS_CLUSTER: Service = Service {
    name: "Redis Cluster",
    variable: "GATEHOUSE_TEST_REDIS_CLUSTER_URL",
    default_address: "127.0.0.1:7001",
    default_url: "redis-cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
    missing_cfg: "gatehouse_no_redis_cluster",
};

/// A program a check runs, and the Debian package that has it.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// The executable's name on `PATH`.
    pub name: &'static str,
    /// The Debian package to install.
    pub package: &'static str,
    /// The `cfg` set when it is not installed.
    pub missing_cfg: &'static str,
}

/// A Redis server a test starts, kills and restarts itself.
pub const REDIS_SERVER: Program = Program {
    name: "redis-server",
    package: "redis-server",
    missing_cfg: "gatehouse_no_redis_server",
};

/// The browser the docs pages are rendered in.
pub const CHROMIUM: Program = Program {
    name: "chromium",
    package: "chromium",
    missing_cfg: "gatehouse_no_chromium",
};

/// The WebDriver server the console's browser tests drive Chromium through.
pub const CHROMEDRIVER: Program = Program {
    name: "chromedriver",
    package: "chromium-driver",
    missing_cfg: "gatehouse_no_chromedriver",
};

/// The Prometheus rule and exposition linter.
pub const PROMTOOL: Program = Program {
    name: "promtool",
    package: "prometheus",
    missing_cfg: "gatehouse_no_promtool",
};

/// Whether missing services fail the run instead of being ignored
/// (`GATEHOUSE_TEST_REQUIRE_SERVICES=1`).
pub fn required() -> bool {
    std::env::var("GATEHOUSE_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The service's URL: its variable when set, else its default local address when something
/// answers there.
pub fn url(service: &Service) -> Option<String> {
    if let Ok(url) = std::env::var(service.variable)
        && !url.trim().is_empty()
    {
        return Some(url.trim().to_owned());
    }
    let address: SocketAddr = service.default_address.parse().ok()?;
    TcpStream::connect_timeout(&address, Duration::from_millis(500))
        .ok()
        .map(|_| service.default_url.to_owned())
}

/// Whether a Docker engine is there for testcontainers to start services in.
pub fn docker_engine() -> bool {
    if std::env::var_os("DOCKER_HOST").is_some() {
        return true;
    }
    #[cfg(unix)]
    {
        std::os::unix::net::UnixStream::connect("/var/run/docker.sock").is_ok()
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The path of the program called `name`, when it is on `PATH`.
pub fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Why a service's tests are ignored, and how to run them.
pub fn service_missing(service: &Service) -> String {
    format!(
        "{} suites not run: {} is unset and nothing answered on {} when they were built; \
         set {} to run them (setting it rebuilds them; GATEHOUSE_TEST_REQUIRE_SERVICES=1 \
         fails instead)",
        service.name, service.variable, service.default_address, service.variable
    )
}

/// Why a program's checks are ignored, and how to run them.
pub fn program_missing(program: &Program) -> String {
    format!(
        "{} checks not run: {} was not on PATH when they were built; install the Debian \
         package {}",
        program.name, program.name, program.package
    )
}

/// For a build script: finds `services` and `programs` and sets the `cfg` of each one that is
/// missing (none when services are required), with one warning line naming what will not
/// run and how to run it. Re-run when a service variable, `PATH` or the programs' directory
/// changes.
pub fn declare(services: &[Service], programs: &[Program]) {
    println!("cargo::rerun-if-env-changed=GATEHOUSE_TEST_REQUIRE_SERVICES");
    println!("cargo::rerun-if-env-changed=DOCKER_HOST");
    println!("cargo::rerun-if-env-changed=PATH");
    if std::path::Path::new("/usr/bin").is_dir() {
        println!("cargo::rerun-if-changed=/usr/bin");
    }
    let required = required();
    let docker = docker_engine();
    for service in services {
        println!("cargo::rustc-check-cfg=cfg({})", service.missing_cfg);
        println!("cargo::rerun-if-env-changed={}", service.variable);
        if !required && !docker && url(service).is_none() {
            println!("cargo::rustc-cfg={}", service.missing_cfg);
            println!("cargo::warning={}", service_missing(service));
        }
    }
    for program in programs {
        println!("cargo::rustc-check-cfg=cfg({})", program.missing_cfg);
        if !required && find(program.name).is_none() {
            println!("cargo::rustc-cfg={}", program.missing_cfg);
            println!("cargo::warning={}", program_missing(program));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(default_address: &'static str) -> Service {
        Service {
            name: "Example",
            variable: "GATEHOUSE_TEST_SERVICES_EXAMPLE_URL",
            default_address,
            default_url: "example://default",
            missing_cfg: "gatehouse_no_example",
        }
    }

    #[test]
    fn a_service_is_found_on_its_default_address_only_when_something_answers() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address: &'static str =
            Box::leak(listener.local_addr().unwrap().to_string().into_boxed_str());
        assert_eq!(url(&service(address)).as_deref(), Some("example://default"));
        drop(listener);
        assert_eq!(
            url(&service(address)),
            None,
            "nothing listens there any more"
        );
    }

    #[test]
    fn the_reason_names_the_variable_and_the_address() {
        let reason = service_missing(&service("127.0.0.1:1"));
        assert!(
            reason.contains("GATEHOUSE_TEST_SERVICES_EXAMPLE_URL"),
            "{reason}"
        );
        assert!(reason.contains("127.0.0.1:1"), "{reason}");
        let reason = program_missing(&PROMTOOL);
        assert!(reason.contains("prometheus"), "{reason}");
    }

    #[test]
    fn programs_are_found_on_path() {
        assert!(
            find("sh").is_some(),
            "every machine that builds this has a shell"
        );
        assert!(find("gatehouse-no-such-program").is_none());
    }
}
