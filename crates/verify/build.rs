//! Decides whether the revocation suite (it needs Redis) can run here (see
//! `gatehouse_test_services`).

use gatehouse_test_services::REDIS;

fn main() {
    gatehouse_test_services::declare(&[REDIS], &[]);
}
