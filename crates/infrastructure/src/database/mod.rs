//! sea-orm persistence. One code path for PostgreSQL and SQLite: the URL picks the driver.

mod audit_log;
mod catalog;
mod credit_ledger;
mod device_repository;
mod email_token_store;
mod entities;
mod factor_store;
mod keyset;
mod like;
mod pre_registrations;
mod signing_key_store;
mod task_repository;
mod user_repository;

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::HealthProbe;
use gatehouse_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend};

pub use audit_log::SeaOrmAuditLog;
pub use catalog::{SeaOrmCategoryRepository, SeaOrmProductRepository};
pub use credit_ledger::SeaOrmCreditLedger;
pub use device_repository::SeaOrmDeviceRepository;
pub use email_token_store::SeaOrmEmailTokenStore;
pub use factor_store::SeaOrmFactorStore;
pub use pre_registrations::SeaOrmPreRegistrations;
pub use sea_orm::DatabaseConnection as Connection;
pub use signing_key_store::SeaOrmSigningKeyStore;
pub use task_repository::SeaOrmTaskRepository;
pub use user_repository::SeaOrmUserRepository;

/// Deletes the rows of `E` whose `id` the bounded `batch` query selects: one step of a
/// pruning job, so no statement deletes, scans or locks more than a batch.
async fn delete_selected<E: sea_orm::EntityTrait>(
    db: &DatabaseConnection,
    id: E::Column,
    batch: sea_orm::sea_query::SelectStatement,
) -> anyhow::Result<u64> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let result = E::delete_many()
        .filter(id.in_subquery(batch))
        .exec(db)
        .await
        .context("prune failed")?;
    Ok(result.rows_affected)
}

/// Opens a pool on `url` (`postgres://...` or `sqlite://...`).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .context("cannot connect to the database")?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers proceed during a write; the embedded default serves concurrent
        // requests from one file. The mode is stored in the file, so one connection sets it
        // for all (sqlx already gives every connection a busy timeout).
        db.execute_unprepared("PRAGMA journal_mode=WAL;")
            .await
            .context("cannot configure SQLite")?;
    }
    Ok(db)
}

/// Any fixed number: the PostgreSQL advisory lock that one migration run holds at a time.
const MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573; // "gatehous"

/// Applies every pending migration. On PostgreSQL, runs holding an advisory lock, so that
/// instances starting together (a rollout, a scale-up) migrate one after the other: the
/// first applies, the others find nothing left to do. `db` must be a single connection,
/// since the lock belongs to the session that took it.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    if postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await
            .context("cannot take the migration lock")?;
    }
    let migrated = Migrator::up(db, None).await.context("migrations failed");
    if postgres {
        // Closing the connection would release it too; this keeps the order plain.
        db.execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .await
            .context("cannot release the migration lock")?;
    }
    migrated
}

/// Opens the serving pool, first applying pending migrations when `migrate` is set.
///
/// Migrations run on a connection of their own that is closed before the pool opens: a SQLite
/// connection that read the schema before a migration keeps its stale copy for statement
/// preparation, and would not see, say, a new unique index an upsert relies on.
pub async fn open(
    url: &str,
    max_connections: u32,
    migrate: bool,
) -> anyhow::Result<DatabaseConnection> {
    if migrate {
        let migrator = connect(url, 1).await?;
        self::migrate(&migrator).await?;
        migrator
            .close()
            .await
            .context("cannot close the migration connection")?;
    }
    connect(url, max_connections).await
}

/// `/health` probe for the database.
pub struct DatabaseProbe(DatabaseConnection);

impl DatabaseProbe {
    /// A probe on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self(db)
    }
}

#[async_trait]
impl HealthProbe for DatabaseProbe {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.0.ping().await.context("database ping failed")
    }
}

/// How much of a connection pool is in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open now, busy or idle.
    pub open: u32,
    /// Open connections waiting for work.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// A reading of `db`'s pool.
pub fn pool_usage(db: &DatabaseConnection) -> PoolUsage {
    fn read<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> PoolUsage {
        PoolUsage {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
    // The getters panic on the other backend; the match picks the one this pool is.
    match db.get_database_backend() {
        DbBackend::Postgres => read(db.get_postgres_connection_pool()),
        DbBackend::Sqlite => read(db.get_sqlite_connection_pool()),
        _ => PoolUsage {
            open: 0,
            idle: 0,
            max: 0,
        },
    }
}
