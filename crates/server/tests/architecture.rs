//! The hexagon's dependency rule, checked on the real dependency graph: the core crates
//! (domain, application) reach no adapter crate, directly or through anything else.
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

#[test]
fn core_crates_do_not_reach_adapter_crates() {
    let metadata = metadata();
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

    for core in CORE {
        let id = names
            .iter()
            .find(|(_, name)| **name == core)
            .map(|(id, _)| *id)
            .expect("core crate present");
        let reached: HashSet<&str> = normal_closure(&graph, id)
            .into_iter()
            .map(|id| names[id])
            .collect();
        assert!(reached.contains(core));
        let leaks: Vec<_> = ADAPTERS.iter().filter(|a| reached.contains(**a)).collect();
        assert!(
            leaks.is_empty(),
            "{core} depends on adapter crates {leaks:?}"
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
}
