//! What the database-backed contract suites share: a fresh store on each backend (in-memory,
//! SQLite, PostgreSQL), a user to hang rows on, and the macro that runs every case on each.
// Each suite uses the adapters of its own port only.
#![allow(dead_code)]

use std::sync::Arc;

use gatehouse_application::ports::{
    AuditLog, CategoryRepository, CreditLedger, DeviceRepository, EmailTokenStore, FactorStore,
    PreRegistrations, ProductRepository, SigningKeyStore, UserRepository,
};
use gatehouse_domain::{Email, PasswordHash, User, UserId, Username};
use gatehouse_infrastructure::database::{
    self, Connection, SeaOrmAuditLog, SeaOrmCategoryRepository, SeaOrmCreditLedger,
    SeaOrmDeviceRepository, SeaOrmEmailTokenStore, SeaOrmFactorStore, SeaOrmPreRegistrations,
    SeaOrmProductRepository, SeaOrmSigningKeyStore, SeaOrmUserRepository,
};
use gatehouse_memory::{
    InMemoryAuditLog, InMemoryCategoryRepository, InMemoryCreditLedger, InMemoryDeviceRepository,
    InMemoryEmailTokenStore, InMemoryFactorStore, InMemoryPreRegistrations,
    InMemoryProductRepository, InMemorySigningKeyStore, InMemoryUserRepository,
};
use time::OffsetDateTime;

/// Where a case's adapters keep their state.
pub enum Backend {
    /// One database (SQLite or PostgreSQL); every adapter is a view of it.
    Database(Connection),
    /// One in-memory adapter per port, those whose rules span two ports sharing state.
    Memory(Memory),
}

/// The in-memory adapters of one case.
pub struct Memory {
    users: Arc<InMemoryUserRepository>,
    credit_ledger: Arc<InMemoryCreditLedger>,
    audit_log: Arc<InMemoryAuditLog>,
    devices: Arc<InMemoryDeviceRepository>,
    email_tokens: Arc<InMemoryEmailTokenStore>,
    pre_registrations: Arc<InMemoryPreRegistrations>,
    categories: Arc<InMemoryCategoryRepository>,
    products: Arc<InMemoryProductRepository>,
    signing_keys: Arc<InMemorySigningKeyStore>,
    factors: Arc<InMemoryFactorStore>,
}

impl Backend {
    /// Fresh in-memory adapters.
    pub fn memory() -> Self {
        let users = InMemoryUserRepository::new();
        let categories = InMemoryCategoryRepository::new();
        Backend::Memory(Memory {
            credit_ledger: Arc::new(InMemoryCreditLedger::new(&users)),
            users: Arc::new(users),
            audit_log: Arc::new(InMemoryAuditLog::new()),
            devices: Arc::new(InMemoryDeviceRepository::new()),
            email_tokens: Arc::new(InMemoryEmailTokenStore::new()),
            pre_registrations: Arc::new(InMemoryPreRegistrations::new()),
            products: Arc::new(InMemoryProductRepository::new(&categories)),
            categories: Arc::new(categories),
            signing_keys: Arc::new(InMemorySigningKeyStore::new()),
            factors: Arc::new(InMemoryFactorStore::new()),
        })
    }

    pub fn users(&self) -> Arc<dyn UserRepository> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmUserRepository::new(db.clone())),
            Backend::Memory(m) => m.users.clone(),
        }
    }

    pub fn credit_ledger(&self) -> Arc<dyn CreditLedger> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmCreditLedger::new(db.clone())),
            Backend::Memory(m) => m.credit_ledger.clone(),
        }
    }

    pub fn audit_log(&self) -> Arc<dyn AuditLog> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmAuditLog::new(db.clone())),
            Backend::Memory(m) => m.audit_log.clone(),
        }
    }

    pub fn devices(&self) -> Arc<dyn DeviceRepository> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmDeviceRepository::new(db.clone())),
            Backend::Memory(m) => m.devices.clone(),
        }
    }

    pub fn email_tokens(&self) -> Arc<dyn EmailTokenStore> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmEmailTokenStore::new(db.clone())),
            Backend::Memory(m) => m.email_tokens.clone(),
        }
    }

    pub fn pre_registrations(&self) -> Arc<dyn PreRegistrations> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmPreRegistrations::new(db.clone())),
            Backend::Memory(m) => m.pre_registrations.clone(),
        }
    }

    pub fn signing_keys(&self) -> Arc<dyn SigningKeyStore> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmSigningKeyStore::new(db.clone())),
            Backend::Memory(m) => m.signing_keys.clone(),
        }
    }

    pub fn factors(&self) -> Arc<dyn FactorStore> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmFactorStore::new(db.clone())),
            Backend::Memory(m) => m.factors.clone(),
        }
    }

    pub fn categories(&self) -> Arc<dyn CategoryRepository> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmCategoryRepository::new(db.clone())),
            Backend::Memory(m) => m.categories.clone(),
        }
    }

    pub fn products(&self) -> Arc<dyn ProductRepository> {
        match self {
            Backend::Database(db) => Arc::new(SeaOrmProductRepository::new(db.clone())),
            Backend::Memory(m) => m.products.clone(),
        }
    }

    /// Stores a user named `name` (rows of other tables point at users).
    pub async fn user(&self, name: &str) -> UserId {
        let user = User::register(
            Email::parse(&format!("{name}@example.com")).unwrap(),
            Username::parse(name).unwrap(),
            PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu".into()),
            OffsetDateTime::now_utc(),
        );
        self.users().insert(&user).await.unwrap();
        user.id
    }
}

/// A migrated SQLite database in a temporary file (kept while the file handle lives).
pub async fn sqlite() -> (Backend, gatehouse_testing::TempSqlite) {
    let file = gatehouse_testing::TempSqlite::new();
    let db = database::open(&file.url(), 4, true).await.unwrap();
    (Backend::Database(db), file)
}

/// A migrated PostgreSQL database of its own, or `None` when no server can be had.
pub async fn postgres() -> Option<(Backend, gatehouse_testing::TestDatabase)> {
    let test_db = gatehouse_testing::postgres().await?;
    let db = database::open(&test_db.url, 8, true).await.unwrap();
    Some((Backend::Database(db), test_db))
}

/// Runs each `async fn(Backend)` case in memory, on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! database_contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case($crate::support::Backend::memory()).await;
            })*
        }
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (db, _file) = $crate::support::sqlite().await;
                super::$case(db).await;
            })*
        }
        mod on_postgres {
            $(#[cfg_attr(gatehouse_no_postgres, ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((db, _test_db)) = $crate::support::postgres().await else { return };
                super::$case(db).await;
            })*
        }
    };
}
