//! The signing keys on sea-orm.

use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::{SigningKeyStore, StoredSigningKey};
use gatehouse_domain::KeyState;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, SqlErr,
    TransactionTrait,
};
use time::OffsetDateTime;

use super::entities::signing_key::{ActiveModel, Column, Entity, Model};

/// [`SigningKeyStore`] on sea-orm. Partial unique indexes (`state = 'current'`,
/// `state = 'next'`) make "one current, one next" hold across instances; a promotion is one
/// transaction of two conditional `UPDATE`s.
#[derive(Clone)]
pub struct SeaOrmSigningKeyStore {
    db: DatabaseConnection,
}

impl SeaOrmSigningKeyStore {
    /// A store on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

fn from_model(row: Model) -> anyhow::Result<StoredSigningKey> {
    Ok(StoredSigningKey {
        state: KeyState::parse(&row.state).with_context(|| {
            format!(
                "signing key {} has an unknown state {:?}",
                row.kid, row.state
            )
        })?,
        kid: row.kid,
        algorithm: row.algorithm,
        public_jwk: row.public_jwk,
        sealed_private_key: row.sealed_private_key,
        created_at: row.created_at,
        activated_at: row.activated_at,
        retired_at: row.retired_at,
    })
}

#[async_trait]
impl SigningKeyStore for SeaOrmSigningKeyStore {
    async fn published(&self) -> anyhow::Result<Vec<StoredSigningKey>> {
        Entity::find()
            .filter(Column::State.ne(KeyState::Removed.as_str()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Kid)
            .all(&self.db)
            .await
            .context("cannot read the signing keys")?
            .into_iter()
            .map(from_model)
            .collect()
    }

    async fn first_activated_at(&self) -> anyhow::Result<Option<OffsetDateTime>> {
        let first = Entity::find()
            .filter(Column::ActivatedAt.is_not_null())
            .order_by_asc(Column::ActivatedAt)
            .one(&self.db)
            .await
            .context("cannot read the signing keys")?;
        Ok(first.and_then(|row| row.activated_at))
    }

    async fn insert(&self, key: &StoredSigningKey) -> anyhow::Result<bool> {
        anyhow::ensure!(
            key.is_new_key(),
            "a new signing key is current (activated) or next (not yet)"
        );
        let row = ActiveModel {
            kid: Set(key.kid.clone()),
            algorithm: Set(key.algorithm.clone()),
            state: Set(key.state.as_str().to_owned()),
            public_jwk: Set(key.public_jwk.clone()),
            sealed_private_key: Set(key.sealed_private_key.clone()),
            created_at: Set(key.created_at),
            activated_at: Set(key.activated_at),
            retired_at: Set(key.retired_at),
            removed_at: Set(None),
        };
        match Entity::insert(row).exec_without_returning(&self.db).await {
            Ok(_) => Ok(true),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(anyhow::Error::new(error).context("cannot store a signing key")),
        }
    }

    async fn promote<'a>(
        &self,
        next: &str,
        retiring: Option<&'a str>,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let txn = self
            .db
            .begin()
            .await
            .context("cannot start a transaction")?;
        if let Some(retiring) = retiring {
            Entity::update_many()
                .col_expr(Column::State, Expr::value(KeyState::Retired.as_str()))
                .col_expr(Column::RetiredAt, Expr::value(at))
                .filter(Column::Kid.eq(retiring))
                .filter(Column::State.eq(KeyState::Current.as_str()))
                .exec(&txn)
                .await
                .context("cannot retire the current signing key")?;
        }
        let promoted = Entity::update_many()
            .col_expr(Column::State, Expr::value(KeyState::Current.as_str()))
            .col_expr(Column::ActivatedAt, Expr::value(at))
            .filter(Column::Kid.eq(next))
            .filter(Column::State.eq(KeyState::Next.as_str()))
            .exec(&txn)
            .await;
        match promoted {
            Ok(result) if result.rows_affected == 1 => {
                txn.commit()
                    .await
                    .context("cannot commit a key promotion")?;
                Ok(true)
            }
            // Another instance promoted it, or another key is current: change nothing.
            Ok(_) => {
                txn.rollback()
                    .await
                    .context("cannot roll a promotion back")?;
                Ok(false)
            }
            Err(error) if is_unique_violation(&error) => {
                txn.rollback()
                    .await
                    .context("cannot roll a promotion back")?;
                tracing::warn!(
                    next,
                    "a next key cannot become current: another key is current"
                );
                Ok(false)
            }
            Err(error) => Err(anyhow::Error::new(error).context("cannot promote a signing key")),
        }
    }

    async fn remove(&self, kid: &str, at: OffsetDateTime) -> anyhow::Result<bool> {
        let result = Entity::update_many()
            .col_expr(Column::State, Expr::value(KeyState::Removed.as_str()))
            .col_expr(Column::RemovedAt, Expr::value(at))
            .col_expr(Column::SealedPrivateKey, Expr::value(Vec::<u8>::new()))
            .filter(Column::Kid.eq(kid))
            .filter(Column::State.eq(KeyState::Retired.as_str()))
            .exec(&self.db)
            .await
            .context("cannot remove a signing key")?;
        Ok(result.rows_affected == 1)
    }

    async fn discard_next(&self, kid: &str, at: OffsetDateTime) -> anyhow::Result<bool> {
        let result = Entity::update_many()
            .col_expr(Column::State, Expr::value(KeyState::Removed.as_str()))
            .col_expr(Column::RemovedAt, Expr::value(at))
            .col_expr(Column::SealedPrivateKey, Expr::value(Vec::<u8>::new()))
            .filter(Column::Kid.eq(kid))
            .filter(Column::State.eq(KeyState::Next.as_str()))
            .exec(&self.db)
            .await
            .context("cannot discard a signing key")?;
        Ok(result.rows_affected == 1)
    }

    async fn reseal(&self, kid: &str, from: &[u8], to: &[u8]) -> anyhow::Result<bool> {
        let result = Entity::update_many()
            .col_expr(Column::SealedPrivateKey, Expr::value(to.to_vec()))
            .filter(Column::Kid.eq(kid))
            .filter(Column::State.ne(KeyState::Removed.as_str()))
            .filter(Column::SealedPrivateKey.eq(from.to_vec()))
            .exec(&self.db)
            .await
            .context("cannot reseal a signing key")?;
        Ok(result.rows_affected == 1)
    }
}
