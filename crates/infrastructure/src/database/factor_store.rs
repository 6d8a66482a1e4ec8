//! [`FactorStore`] on sea-orm. Every race is decided by one statement: a conditional update
//! (confirming, accepting a step) or a delete (using a recovery code) whose row count says
//! who won.

use anyhow::Context;
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gatehouse_application::ports::{FactorStore, StoredPasskey, TotpFactor};
use gatehouse_domain::UserId;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait, TryInsertResult,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::entities::{passkey, recovery_code, totp_factor};

/// Second factors in the `totp_factors`, `recovery_codes` and `passkeys` tables.
#[derive(Clone)]
pub struct SeaOrmFactorStore {
    db: DatabaseConnection,
}

impl SeaOrmFactorStore {
    /// A store on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn step(value: u64) -> anyhow::Result<i64> {
    i64::try_from(value).context("a time step past the range of the column")
}

fn passkey_of(row: passkey::Model) -> anyhow::Result<StoredPasskey> {
    Ok(StoredPasskey {
        id: row.id,
        user: UserId::from_uuid(row.user_id),
        credential_id: URL_SAFE_NO_PAD
            .decode(&row.credential_id)
            .context("malformed stored credential id")?,
        name: row.name,
        passkey: row.passkey,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
    })
}

#[async_trait]
impl FactorStore for SeaOrmFactorStore {
    async fn totp(&self, user: UserId) -> anyhow::Result<Option<TotpFactor>> {
        let row = totp_factor::Entity::find_by_id(user.as_uuid())
            .one(&self.db)
            .await
            .context("TOTP factor read failed")?;
        row.map(|row| {
            Ok(TotpFactor {
                sealed_secret: row.sealed_secret,
                confirmed: row.confirmed,
                last_step: row
                    .last_step
                    .map(u64::try_from)
                    .transpose()
                    .context("a negative stored time step")?,
                created_at: row.created_at,
            })
        })
        .transpose()
    }

    async fn put_pending_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        use totp_factor::Column;
        let row = totp_factor::ActiveModel {
            user_id: Set(user.as_uuid()),
            sealed_secret: Set(sealed_secret.to_vec()),
            confirmed: Set(false),
            last_step: Set(None),
            created_at: Set(at),
        };
        // Replaces a pending enrolment, never a confirmed one: the WHERE of the upsert.
        let on_conflict = OnConflict::column(Column::UserId)
            .update_columns([
                Column::SealedSecret,
                Column::Confirmed,
                Column::LastStep,
                Column::CreatedAt,
            ])
            .action_and_where(Column::Confirmed.eq(false))
            .to_owned();
        let result = totp_factor::Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await
            .context("TOTP enrolment failed")?;
        Ok(result > 0)
    }

    async fn confirm_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        step_accepted: u64,
        recovery_digests: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        use totp_factor::Column;
        let txn = self.db.begin().await.context("cannot begin")?;
        let confirmed = totp_factor::Entity::update_many()
            .col_expr(Column::Confirmed, Expr::value(true))
            .col_expr(Column::LastStep, Expr::value(step(step_accepted)?))
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::Confirmed.eq(false))
            .filter(Column::SealedSecret.eq(sealed_secret.to_vec()))
            .exec(&txn)
            .await
            .context("TOTP confirmation failed")?;
        if confirmed.rows_affected != 1 {
            return Ok(false);
        }
        replace_codes(&txn, user, recovery_digests, at).await?;
        txn.commit().await.context("TOTP confirmation failed")?;
        Ok(true)
    }

    async fn accept_totp_step(&self, user: UserId, step_accepted: u64) -> anyhow::Result<bool> {
        use totp_factor::Column;
        let value = step(step_accepted)?;
        let accepted = totp_factor::Entity::update_many()
            .col_expr(Column::LastStep, Expr::value(value))
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::Confirmed.eq(true))
            .filter(
                Condition::any()
                    .add(Column::LastStep.is_null())
                    .add(Column::LastStep.lt(value)),
            )
            .exec(&self.db)
            .await
            .context("TOTP step update failed")?;
        Ok(accepted.rows_affected == 1)
    }

    async fn sealed_totp_secrets(&self) -> anyhow::Result<Vec<(UserId, Vec<u8>)>> {
        Ok(totp_factor::Entity::find()
            .all(&self.db)
            .await
            .context("TOTP factor read failed")?
            .into_iter()
            .map(|row| (UserId::from_uuid(row.user_id), row.sealed_secret))
            .collect())
    }

    async fn reseal_totp(&self, user: UserId, old: &[u8], new: &[u8]) -> anyhow::Result<bool> {
        use totp_factor::Column;
        let resealed = totp_factor::Entity::update_many()
            .col_expr(Column::SealedSecret, Expr::value(new.to_vec()))
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::SealedSecret.eq(old.to_vec()))
            .exec(&self.db)
            .await
            .context("TOTP reseal failed")?;
        Ok(resealed.rows_affected == 1)
    }

    async fn remove_totp(&self, user: UserId) -> anyhow::Result<bool> {
        let removed = totp_factor::Entity::delete_by_id(user.as_uuid())
            .exec(&self.db)
            .await
            .context("TOTP removal failed")?;
        Ok(removed.rows_affected == 1)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        digests: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let txn = self.db.begin().await.context("cannot begin")?;
        replace_codes(&txn, user, digests, at).await?;
        txn.commit().await.context("recovery code update failed")
    }

    async fn recovery_codes_left(&self, user: UserId) -> anyhow::Result<u64> {
        use sea_orm::PaginatorTrait;
        recovery_code::Entity::find()
            .filter(recovery_code::Column::UserId.eq(user.as_uuid()))
            .count(&self.db)
            .await
            .context("recovery code count failed")
    }

    async fn use_recovery_code(&self, user: UserId, digest: &[u8]) -> anyhow::Result<bool> {
        use recovery_code::Column;
        let used = recovery_code::Entity::delete_many()
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::Digest.eq(hex(digest)))
            .exec(&self.db)
            .await
            .context("recovery code use failed")?;
        Ok(used.rows_affected == 1)
    }

    async fn passkeys(&self, user: UserId) -> anyhow::Result<Vec<StoredPasskey>> {
        use passkey::Column;
        passkey::Entity::find()
            .filter(Column::UserId.eq(user.as_uuid()))
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .all(&self.db)
            .await
            .context("passkey read failed")?
            .into_iter()
            .map(passkey_of)
            .collect()
    }

    async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> anyhow::Result<Option<StoredPasskey>> {
        passkey::Entity::find()
            .filter(passkey::Column::CredentialId.eq(URL_SAFE_NO_PAD.encode(credential_id)))
            .one(&self.db)
            .await
            .context("passkey read failed")?
            .map(passkey_of)
            .transpose()
    }

    async fn add_passkey(&self, stored: &StoredPasskey) -> anyhow::Result<bool> {
        let row = passkey::ActiveModel {
            id: Set(stored.id),
            user_id: Set(stored.user.as_uuid()),
            credential_id: Set(URL_SAFE_NO_PAD.encode(&stored.credential_id)),
            name: Set(stored.name.clone()),
            passkey: Set(stored.passkey.clone()),
            created_at: Set(stored.created_at),
            last_used_at: Set(stored.last_used_at),
        };
        let result = passkey::Entity::insert(row)
            .on_conflict_do_nothing_on([passkey::Column::CredentialId])
            .exec_without_returning(&self.db)
            .await
            .context("passkey insert failed")?;
        Ok(matches!(result, TryInsertResult::Inserted(n) if n > 0))
    }

    async fn passkey_used(
        &self,
        id: Uuid,
        updated: Option<String>,
        at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        use passkey::Column;
        let mut update = passkey::Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(at))
            .filter(Column::Id.eq(id));
        if let Some(updated) = updated {
            update = update.col_expr(Column::Passkey, Expr::value(updated));
        }
        update
            .exec(&self.db)
            .await
            .context("passkey update failed")?;
        Ok(())
    }

    async fn remove_passkey(&self, user: UserId, id: Uuid) -> anyhow::Result<bool> {
        use passkey::Column;
        let removed = passkey::Entity::delete_many()
            .filter(Column::Id.eq(id))
            .filter(Column::UserId.eq(user.as_uuid()))
            .exec(&self.db)
            .await
            .context("passkey removal failed")?;
        Ok(removed.rows_affected == 1)
    }

    async fn remove_all(&self, user: UserId) -> anyhow::Result<bool> {
        let owner = user.as_uuid();
        let txn = self.db.begin().await.context("cannot begin")?;
        let totp = totp_factor::Entity::delete_by_id(owner)
            .exec(&txn)
            .await
            .context("factor reset failed")?;
        let codes = recovery_code::Entity::delete_many()
            .filter(recovery_code::Column::UserId.eq(owner))
            .exec(&txn)
            .await
            .context("factor reset failed")?;
        let passkeys = passkey::Entity::delete_many()
            .filter(passkey::Column::UserId.eq(owner))
            .exec(&txn)
            .await
            .context("factor reset failed")?;
        txn.commit().await.context("factor reset failed")?;
        Ok(totp.rows_affected + codes.rows_affected + passkeys.rows_affected > 0)
    }
}

async fn replace_codes(
    txn: &sea_orm::DatabaseTransaction,
    user: UserId,
    digests: &[Vec<u8>],
    at: OffsetDateTime,
) -> anyhow::Result<()> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.as_uuid()))
        .exec(txn)
        .await
        .context("recovery code update failed")?;
    if digests.is_empty() {
        return Ok(());
    }
    let rows = digests.iter().map(|digest| recovery_code::ActiveModel {
        user_id: Set(user.as_uuid()),
        digest: Set(hex(digest)),
        created_at: Set(at),
    });
    recovery_code::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await
        .context("recovery code update failed")?;
    Ok(())
}
