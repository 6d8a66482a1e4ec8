use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::{CreditEntry, CreditError, CreditLedger};
use gatehouse_domain::UserId;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use super::entities::credit_entry;
use super::entities::user as user_entity;

/// [`CreditLedger`] on sea-orm. The balance lives on the user row and moves with a
/// conditional `UPDATE ... SET credits = credits + amount WHERE credits + amount >= 0`, in the
/// same transaction as the entry: the row lock serialises concurrent spends and the condition
/// is re-checked against the committed balance, so none can overdraw.
#[derive(Clone)]
pub struct SeaOrmCreditLedger {
    db: DatabaseConnection,
}

impl SeaOrmCreditLedger {
    /// A ledger on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl CreditLedger for SeaOrmCreditLedger {
    async fn apply(&self, mut entry: CreditEntry) -> Result<CreditEntry, CreditError> {
        let txn = self
            .db
            .begin()
            .await
            .context("cannot start a transaction")?;
        let credits = || Expr::col(user_entity::Column::Credits);
        let updated = user_entity::Entity::update_many()
            .col_expr(user_entity::Column::Credits, credits().add(entry.amount))
            .filter(user_entity::Column::Id.eq(entry.user.as_uuid()))
            .filter(credits().add(entry.amount).gte(0))
            .exec_with_returning(&txn)
            .await
            .context("credit update failed")?;
        let Some(row) = updated.first() else {
            let exists = user_entity::Entity::find_by_id(entry.user.as_uuid())
                .one(&txn)
                .await
                .context("user query failed")?
                .is_some();
            return Err(if exists {
                CreditError::Insufficient
            } else {
                CreditError::UnknownUser
            });
        };
        entry.balance_after = row.credits;
        credit_entry::Entity::insert(credit_entry::ActiveModel {
            id: Set(entry.id),
            user_id: Set(entry.user.as_uuid()),
            amount: Set(entry.amount),
            balance_after: Set(entry.balance_after),
            reason: Set(entry.reason.clone()),
            actor_id: Set(entry.actor.map(|a| a.as_uuid())),
            created_at: Set(entry.created_at),
        })
        .exec_without_returning(&txn)
        .await
        .context("credit entry insert failed")?;
        txn.commit().await.context("credit commit failed")?;
        Ok(entry)
    }

    async fn recent(&self, user: UserId, limit: u64) -> anyhow::Result<Vec<CreditEntry>> {
        let rows = credit_entry::Entity::find()
            .filter(credit_entry::Column::UserId.eq(user.as_uuid()))
            .order_by_desc(credit_entry::Column::CreatedAt)
            .order_by_desc(credit_entry::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .context("credit entries query failed")?;
        Ok(rows
            .into_iter()
            .map(|row| CreditEntry {
                id: row.id,
                user: UserId::from_uuid(row.user_id),
                amount: row.amount,
                balance_after: row.balance_after,
                reason: row.reason,
                actor: row.actor_id.map(UserId::from_uuid),
                created_at: row.created_at,
            })
            .collect())
    }
}
