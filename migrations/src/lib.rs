//! Gatehouse schema migrations. One set serves PostgreSQL and SQLite: only portable column
//! types and plain SQL that both accept.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_create_users;
mod m20261122_000002_create_devices;
mod m20261122_000003_profiles_credits_audit;
mod m20261122_000004_tasks_email_tokens;
mod m20261123_000005_create_catalog;
mod m20261128_000006_account_hardening;
mod m20261128_000007_signing_keys;
mod m20261128_000008_second_factors;
mod m20261128_000009_imported_accounts;

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_create_users::Migration),
            Box::new(m20261122_000002_create_devices::Migration),
            Box::new(m20261122_000003_profiles_credits_audit::Migration),
            Box::new(m20261122_000004_tasks_email_tokens::Migration),
            Box::new(m20261123_000005_create_catalog::Migration),
            Box::new(m20261128_000006_account_hardening::Migration),
            Box::new(m20261128_000007_signing_keys::Migration),
            Box::new(m20261128_000008_second_factors::Migration),
            Box::new(m20261128_000009_imported_accounts::Migration),
        ]
    }
}
