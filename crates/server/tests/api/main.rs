//! End-to-end: the real application on a random port, on the embedded default (SQLite +
//! in-memory stores) and on PostgreSQL + Redis. Every scenario runs on both.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod helpers;

mod account_copies;
mod administration;
mod auth_story;
mod bad_input;
mod browser;
mod catalog;
mod console;
mod cors;
mod devices;
mod django;
mod emails;
mod hardening;
mod mfa;
mod observability;
mod operations;
mod outage;
mod passkeys;
mod sessions;
mod signing_keys;
mod simplejwt;
mod tasks;
mod throttling;
mod tokens;

/// Declares each scenario once per backend. A scenario is `async fn(TestApp)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case($crate::helpers::TestApp::embedded().await).await;
            })*
        }
        mod postgres_redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(any(gatehouse_no_postgres, gatehouse_no_redis), ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL")]
            async fn $case() {
                let Some(app) = $crate::helpers::TestApp::shared().await else { return };
                super::$case(app).await;
            })*
        }
    };
}

/// Like `on_every_backend!`, with extra configuration for every app.
#[macro_export]
macro_rules! on_every_backend_with {
    ($config:expr; $($case:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case($crate::helpers::TestApp::embedded_with(&$config).await).await;
            })*
        }
        mod postgres_redis {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(any(gatehouse_no_postgres, gatehouse_no_redis), ignore = "needs PostgreSQL and Redis: start them on their default local ports or set GATEHOUSE_TEST_DATABASE_URL and GATEHOUSE_TEST_REDIS_URL")]
            async fn $case() {
                let Some(app) = $crate::helpers::TestApp::shared_with(&$config).await else { return };
                super::$case(app).await;
            })*
        }
    };
}
