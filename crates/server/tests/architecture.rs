//! The hexagon's dependency rule, checked on the real dependency graph: the core crates
//! (domain, application) reach no adapter crate, and the in-memory adapters (and the example
//! that embeds them) reach nothing that talks to a server, directly or through anything else.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::{HashMap, HashSet};
use std::process::Command;

use serde_json::Value;

const CORE: [&str; 2] = ["gatehouse-domain", "gatehouse-application"];
const ADAPTERS: [&str; 9] = [
    "actix-web",
    "actix-http",
    "sea-orm",
    "sqlx",
    "fred",
    "lettre",
    "jsonwebtoken",
    "bcrypt",
    "reqwest",
];

fn metadata() -> Value {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("metadata is JSON")
}

/// Every package reachable from `root` through normal (non-dev, non-build) dependencies.
fn normal_closure<'a>(
    graph: &'a HashMap<&'a str, Vec<&'a str>>,
    root: &'a str,
) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if seen.insert(id) {
            stack.extend(graph.get(id).into_iter().flatten().copied());
        }
    }
    seen
}

/// The names of every package `root` reaches through normal dependencies, itself included.
fn reached_from(metadata: &Value, root: &str) -> HashSet<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let graph: HashMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let normal = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|dep| dep["pkg"].as_str().unwrap())
                .collect();
            (node["id"].as_str().unwrap(), normal)
        })
        .collect();
    let id = names
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("{root} is a workspace package"));
    let reached: HashSet<String> = normal_closure(&graph, id)
        .into_iter()
        .map(|id| names[id].to_owned())
        .collect();
    assert!(reached.contains(root));
    reached
}

#[test]
fn core_crates_do_not_reach_adapter_crates() {
    let metadata = metadata();
    for core in CORE {
        let reached = reached_from(&metadata, core);
        let leaks: Vec<_> = ADAPTERS.iter().filter(|a| reached.contains(**a)).collect();
        assert!(
            leaks.is_empty(),
            "{core} depends on adapter crates {leaks:?}"
        );
    }
}

/// Crates that run in process only: the in-memory adapters and what embeds them.
const IN_PROCESS: [&str; 2] = ["gatehouse-memory", "gatehouse-example-embedded"];

/// Families of crates that talk to a server (database, Redis, SMTP, HTTP) or are one.
const SERVER_CLIENTS: [&str; 8] = [
    "sea-orm", "sqlx", "fred", "redis", "lettre", "reqwest", "actix", "apalis",
];

fn talks_to_a_server(name: &str) -> bool {
    SERVER_CLIENTS.iter().any(|family| name.starts_with(family))
}

#[test]
fn in_memory_crates_do_not_reach_server_clients() {
    let metadata = metadata();
    for crate_name in IN_PROCESS {
        let mut leaks: Vec<String> = reached_from(&metadata, crate_name)
            .into_iter()
            .filter(|name| talks_to_a_server(name))
            .collect();
        leaks.sort();
        assert!(
            leaks.is_empty(),
            "{crate_name} depends on server clients {leaks:?}"
        );
        let ours: Vec<String> = reached_from(&metadata, crate_name)
            .into_iter()
            .filter(|name| name.starts_with("gatehouse-") && name != crate_name)
            .collect();
        for dependency in ours {
            assert!(
                [
                    "gatehouse-domain",
                    "gatehouse-application",
                    "gatehouse-memory"
                ]
                .contains(&dependency.as_str()),
                "{crate_name} depends on {dependency}"
            );
        }
    }
}

/// Other services take `gatehouse-verify` alone: it must not drag Gatehouse's own crates (or
/// their database drivers) into them, and the example reaches Gatehouse only through it.
#[test]
fn the_verifier_stands_alone() {
    let metadata = metadata();
    for (crate_name, allowed) in [
        ("gatehouse-verify", &[][..]),
        ("gatehouse-example-protected-api", &["gatehouse-verify"][..]),
    ] {
        let reached = reached_from(&metadata, crate_name);
        assert!(
            reached.contains("jsonwebtoken"),
            "the walk from {crate_name} found nothing"
        );
        let mut ours: Vec<&String> = reached
            .iter()
            .filter(|name| name.starts_with("gatehouse") && *name != crate_name)
            .filter(|name| !allowed.contains(&name.as_str()))
            .collect();
        ours.sort();
        assert!(ours.is_empty(), "{crate_name} depends on {ours:?}");
        assert!(
            !reached.contains("sea-orm") && !reached.contains("sqlx"),
            "{crate_name} reaches a database driver"
        );
    }
}

#[test]
fn the_check_sees_adapters_where_they_belong() {
    // Guards the check itself: the same walk from the infrastructure crate must find them.
    let metadata = metadata();
    let infra = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "gatehouse-infrastructure")
        .unwrap();
    let deps: Vec<&str> = infra["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(deps.contains(&"sea-orm") && deps.contains(&"fred") && deps.contains(&"jsonwebtoken"));
    // And the walk from the binary finds every family of server client (reqwest is only a
    // test dependency, so no normal walk reaches it).
    let reached = reached_from(&metadata, "gatehouse");
    for family in SERVER_CLIENTS.iter().filter(|f| **f != "reqwest") {
        assert!(
            reached.iter().any(|name| name.starts_with(family)),
            "the walk from the binary finds no {family} crate"
        );
    }
}
