//! Decides which adapter suites can run here (see `gatehouse_test_services`).

use gatehouse_test_services::{POSTGRES, REDIS, REDIS_CLUSTER, REDIS_SERVER};

fn main() {
    gatehouse_test_services::declare(&[POSTGRES, REDIS, REDIS_CLUSTER], &[REDIS_SERVER]);
}
