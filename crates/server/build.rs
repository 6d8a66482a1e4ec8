//! Decides which end-to-end suites can run here (see `gatehouse_test_services`).

use gatehouse_test_services::{CHROMEDRIVER, CHROMIUM, POSTGRES, PROMTOOL, REDIS, REDIS_SERVER};

fn main() {
    gatehouse_test_services::declare(
        &[POSTGRES, REDIS],
        &[REDIS_SERVER, CHROMIUM, CHROMEDRIVER, PROMTOOL],
    );
}
