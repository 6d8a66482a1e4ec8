//! The `gatehouse` binary: commands, configuration errors, graceful shutdown.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use gatehouse_testing::TempSqlite;

fn gatehouse(db: &TempSqlite, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GATEHOUSE_DATABASE_URL", db.url())
        .env("GATEHOUSE_BCRYPT_COST", "4")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

#[test]
fn migrate_then_create_superuser() {
    let db = TempSqlite::new();
    assert!(gatehouse(&db, &["migrate"], &[]).status.success());
    let created = gatehouse(
        &db,
        &[
            "create-superuser",
            "--email",
            "Root@Example.com",
            "--username",
            "root",
            "--password",
            "violet-tractor-42",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(
        created.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(stdout.contains("root@example.com"), "{stdout}");

    let again = gatehouse(
        &db,
        &[
            "create-superuser",
            "--email",
            "root@example.com",
            "--username",
            "root2",
            "--password",
            "violet-tractor-42",
        ],
        &[],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("email"));

    let weak = gatehouse(
        &db,
        &[
            "create-superuser",
            "--email",
            "w@example.com",
            "--username",
            "weak",
            "--password",
            "password",
        ],
        &[],
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    // No terminal, missing flags: a clear refusal instead of a hang.
    let missing = gatehouse(&db, &["create-superuser"], &[]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--email"));
}

#[test]
fn bad_configuration_stops_the_process_naming_the_variable() {
    let db = TempSqlite::new();
    let output = gatehouse(&db, &["migrate"], &[("GATEHOUSE_ACCESS_TOKEN_TTL", "soon")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("GATEHOUSE_ACCESS_TOKEN_TTL"));

    let output = gatehouse(&db, &["serve"], &[("GATEHOUSE_ENV", "production")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("GATEHOUSE_MASTER_KEY"));
}

/// SIGTERM while a login is hashing: the login still gets its answer, then the process exits
/// cleanly.
#[test]
fn sigterm_lets_in_flight_requests_finish() {
    let db = TempSqlite::new();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("serve")
        .env_clear()
        .env("GATEHOUSE_DATABASE_URL", db.url())
        .env("GATEHOUSE_ADDR", &addr)
        // A slow hash keeps the request in flight long enough to signal during it.
        .env("GATEHOUSE_BCRYPT_COST", "15")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let live = format!("http://{addr}/health/live");
        let mut up = false;
        for _ in 0..300 {
            if client.get(&live).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "server did not come up");
        let check = gatehouse(&db, &["healthcheck"], &[("GATEHOUSE_ADDR", &addr)]);
        assert!(
            check.status.success(),
            "the health check missed a live server"
        );
        let login = tokio::spawn({
            let client = client.clone();
            let url = format!("http://{addr}/api/v1/auth/login");
            async move {
                client
                    .post(url)
                    .json(
                        &serde_json::json!({"email": "x@example.com", "password": "whatever-123"}),
                    )
                    .send()
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let killed = Command::new("kill")
            .args(["-TERM", &server.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let response = login.await.unwrap().expect("in-flight request answered");
        assert_eq!(response.status(), 401);
    });
    let status = server.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A job worker answers probes and scrapes on its own address; `gatehouse healthcheck` (the
/// container health check) tells a live process from a missing one.
#[test]
fn worker_answers_probes_and_healthcheck_tells_live_from_dead() {
    let db = TempSqlite::new();
    assert!(gatehouse(&db, &["migrate"], &[]).status.success());
    let worker_addr = format!("127.0.0.1:{}", free_port());
    let nobody = format!("127.0.0.1:{}", free_port());
    let env = [
        ("GATEHOUSE_WORKER_ADDR", worker_addr.as_str()),
        ("GATEHOUSE_ADDR", nobody.as_str()),
    ];
    let mut worker = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("worker")
        .env_clear()
        .env("GATEHOUSE_DATABASE_URL", db.url())
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts");
    let mut healthy = false;
    for _ in 0..300 {
        if gatehouse(&db, &["healthcheck", "--worker"], &env)
            .status
            .success()
        {
            healthy = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(healthy, "the worker never answered its health check");
    let server_check = gatehouse(&db, &["healthcheck"], &env);
    assert!(!server_check.status.success(), "no server runs on {nobody}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let exposition = runtime.block_on(async {
        reqwest::get(format!("http://{worker_addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        exposition.contains("gatehouse_job_runs_total{outcome=\"succeeded\"}"),
        "{exposition}"
    );
    assert!(exposition.contains("gatehouse_build_info"), "{exposition}");

    let killed = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = worker.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
}

/// `keys list` shows the first key, `keys rotate` publishes exactly one next key, and keys
/// sealed under one master key do not load under another: the command stops, naming it.
#[test]
fn keys_list_and_rotate_and_a_wrong_master_key_stops_the_process() {
    let db = TempSqlite::new();
    let states = |text: &str| {
        text.lines()
            .skip_while(|l| !l.starts_with("STATE"))
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    // Only a serving instance or `keys rotate` makes keys: listing changes nothing.
    let listed = gatehouse(&db, &["keys", "list"], &[]);
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{stdout}");
    assert!(states(&stdout).is_empty(), "{stdout}");

    let first = gatehouse(&db, &["keys", "rotate"], &[]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("created the first key"), "{stdout}");
    assert_eq!(states(&stdout), ["current"], "{stdout}");
    assert!(stdout.contains("EdDSA"), "{stdout}");

    let rotated = gatehouse(&db, &["keys", "rotate"], &[]);
    let stdout = String::from_utf8_lossy(&rotated.stdout);
    assert!(rotated.status.success(), "{stdout}");
    assert!(stdout.contains("created the next key"), "{stdout}");
    assert_eq!(states(&stdout), ["current", "next"], "{stdout}");
    // Asked again before the next key may sign: still one next key.
    let again = gatehouse(&db, &["keys", "rotate"], &[]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(!stdout.contains("created"), "{stdout}");
    assert_eq!(states(&stdout), ["current", "next"], "{stdout}");

    let other_key = "b3RoZXItbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGU=";
    let refused = gatehouse(
        &db,
        &["keys", "list"],
        &[("GATEHOUSE_MASTER_KEY", other_key)],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("GATEHOUSE_MASTER_KEY"), "{stderr}");
    assert!(stderr.contains("wrong master key"), "{stderr}");
}

#[test]
fn a_master_key_that_is_not_32_bytes_of_base64_is_a_configuration_error() {
    let db = TempSqlite::new();
    for bad in ["not base64!", "c2hvcnQ="] {
        let refused = gatehouse(&db, &["keys", "list"], &[("GATEHOUSE_MASTER_KEY", bad)]);
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("GATEHOUSE_MASTER_KEY"), "{stderr}");
    }
    let hs256 = gatehouse(
        &db,
        &["keys", "rotate"],
        &[("GATEHOUSE_JWT_ALGORITHM", "HS256")],
    );
    let stderr = String::from_utf8_lossy(&hs256.stderr);
    assert_eq!(hs256.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("publishes no key"), "{stderr}");
}

/// A master-key rotation: with the old key as GATEHOUSE_MASTER_KEY_PREVIOUS the service
/// starts under the new one, `keys reseal` seals every key again, and afterwards the new
/// key alone opens them (and the old one no longer does).
#[test]
fn a_master_key_rotation_reseals_every_key() {
    let db = TempSqlite::new();
    let old = "b2xkLW1hc3Rlci1rZXktMDEyMzQ1Njc4OWFiY2RlZmc=";
    let new = "bmV3LW1hc3Rlci1rZXktMDEyMzQ1Njc4OWFiY2RlZmc=";
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let output = gatehouse(&db, args, env);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), text)
    };
    let under_old = [("GATEHOUSE_MASTER_KEY", old)];
    assert_eq!(run(&["keys", "rotate"], &under_old).0, Some(0));
    assert_eq!(run(&["keys", "rotate"], &under_old).0, Some(0));
    let rotating = [
        ("GATEHOUSE_MASTER_KEY", new),
        ("GATEHOUSE_MASTER_KEY_PREVIOUS", old),
    ];
    let (code, listed) = run(&["keys", "list"], &rotating);
    assert_eq!(code, Some(0), "{listed}");
    let (code, resealed) = run(&["keys", "reseal"], &rotating);
    assert_eq!(code, Some(0), "{resealed}");
    assert!(resealed.contains("resealed 2 key(s)"), "{resealed}");
    let (code, again) = run(&["keys", "reseal"], &rotating);
    assert!(again.contains("resealed 0 key(s)"), "{code:?} {again}");
    let (code, listed) = run(&["keys", "list"], &[("GATEHOUSE_MASTER_KEY", new)]);
    assert_eq!(code, Some(0), "{listed}");
    assert_eq!(listed.matches("EdDSA").count(), 2, "{listed}");
    let (code, refused) = run(&["keys", "list"], &under_old);
    assert_eq!(code, Some(1), "{refused}");
}

/// A leaked key: `keys rotate --now` makes a new key current at once, and `keys remove`
/// takes the old one out of the JWKS; a current key cannot be removed.
#[test]
fn a_leaked_key_is_rotated_away_and_removed_at_once() {
    let db = TempSqlite::new();
    let listed = gatehouse(&db, &["keys", "rotate"], &[]);
    let first = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .find(|l| l.starts_with("current"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    let refused = gatehouse(&db, &["keys", "remove", &first], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a retired key"));

    let rotated = gatehouse(&db, &["keys", "rotate", "--now"], &[]);
    let stdout = String::from_utf8_lossy(&rotated.stdout);
    assert!(rotated.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("key {first} is retired")),
        "{stdout}"
    );
    let removed = gatehouse(&db, &["keys", "remove", &first], &[]);
    let stdout = String::from_utf8_lossy(&removed.stdout);
    assert!(removed.status.success(), "{stdout}");
    let states: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("STATE"))
        .skip(1)
        .collect();
    assert_eq!(states.len(), 1, "{stdout}");
    assert!(
        states[0].starts_with("current") && !states[0].contains(&first),
        "{stdout}"
    );
}
