//! Decides whether the end-to-end suite (a Gatehouse on PostgreSQL and Redis) can run here
//! (see `gatehouse_test_services`).

use gatehouse_test_services::{POSTGRES, REDIS};

fn main() {
    gatehouse_test_services::declare(&[POSTGRES, REDIS], &[]);
}
