//! Runs the example as a user would.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::process::Command;

#[test]
fn the_example_signs_up_logs_in_and_authenticates() {
    let output = Command::new(env!("CARGO_BIN_EXE_gatehouse-example-embedded"))
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("signed up, logged in and authenticated"),
        "{stdout}"
    );
}
