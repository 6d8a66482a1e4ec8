//! The import source port: accounts read from another system's user table (a Django
//! project's database), in batches, as they are stored there.

use std::collections::BTreeSet;

use async_trait::async_trait;
use time::{Date, OffsetDateTime};

/// One account as a Django project stores it: `auth_user`'s columns, the optional columns of
/// the common custom user models, and the permission codenames the user holds directly and
/// through their groups. Values are raw: the import checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForeignAccount {
    /// The source's primary key (batches walk it in order).
    pub id: i64,
    /// `email`.
    pub email: String,
    /// `username`, when the table has one.
    pub username: Option<String>,
    /// `first_name` (empty when unset).
    pub first_name: String,
    /// `last_name` (empty when unset).
    pub last_name: String,
    /// `password`: the encoded Django hash, kept as it is.
    pub password: String,
    /// `is_active`.
    pub is_active: bool,
    /// `is_superuser`.
    pub is_superuser: bool,
    /// `is_staff`.
    pub is_staff: bool,
    /// `date_joined`, when the table has one.
    pub date_joined: Option<OffsetDateTime>,
    /// A custom model's `role` column.
    pub role: Option<String>,
    /// A custom model's `is_verified` column.
    pub is_verified: Option<bool>,
    /// A custom model's `phone_number` column.
    pub phone_number: Option<String>,
    /// A custom model's `birth_date` column.
    pub birth_date: Option<Date>,
    /// A custom model's `credits` column.
    pub credits: Option<i64>,
    /// Permission codenames, direct and through groups.
    pub permissions: BTreeSet<String>,
}

/// Reads accounts from another system's database.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ImportSource: Send + Sync {
    /// How many accounts the source holds.
    async fn count(&self) -> anyhow::Result<u64>;

    /// Up to `limit` accounts with an id above `after` (all when `None`), by id.
    async fn batch(&self, after: Option<i64>, limit: u64) -> anyhow::Result<Vec<ForeignAccount>>;
}
