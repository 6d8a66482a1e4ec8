//! The `Clock` contract: now, in UTC. Run against the system clock (the one in
//! infrastructure, and the one `gatehouse-memory` gives embedders) and the manual clock.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::sync::Arc;
use std::time::Duration;

use gatehouse_application::ports::Clock;
use gatehouse_infrastructure::SystemClock;
use gatehouse_memory::ManualClock;
use time::{OffsetDateTime, UtcOffset};

fn now_is_in_utc_and_never_goes_back(clock: Arc<dyn Clock>) {
    let first = clock.now();
    assert_eq!(first.offset(), UtcOffset::UTC);
    let second = clock.now();
    assert!(second >= first);
}

fn a_system_clock_tells_the_time(clock: Arc<dyn Clock>) {
    now_is_in_utc_and_never_goes_back(clock.clone());
    let drift = clock.now() - OffsetDateTime::now_utc();
    assert!(drift.abs() < time::Duration::seconds(1), "{drift}");
}

#[test]
fn the_system_clock_tells_the_time() {
    a_system_clock_tells_the_time(Arc::new(SystemClock));
}

#[test]
fn the_embedders_system_clock_tells_the_time() {
    a_system_clock_tells_the_time(Arc::new(gatehouse_memory::SystemClock));
}

#[test]
fn the_manual_clock_stands_still_until_moved() {
    let start = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    now_is_in_utc_and_never_goes_back(clock.clone());
    assert_eq!(clock.now(), start);
    clock.advance(Duration::from_millis(1500));
    assert_eq!(clock.now(), start + Duration::from_millis(1500));
    clock.set(start);
    assert_eq!(clock.now(), start);
}
