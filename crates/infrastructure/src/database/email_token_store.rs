use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::{EmailTokenStore, TokenPurpose};
use gatehouse_domain::UserId;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use super::entities::email_token::{ActiveModel, Column, Entity};

/// [`EmailTokenStore`] on sea-orm. Using a token up is a `DELETE` of its row: of concurrent
/// callers only the one whose `DELETE` removed it wins.
#[derive(Clone)]
pub struct SeaOrmEmailTokenStore {
    db: DatabaseConnection,
}

impl SeaOrmEmailTokenStore {
    /// A store on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl EmailTokenStore for SeaOrmEmailTokenStore {
    async fn issue(
        &self,
        digest: &str,
        user: UserId,
        purpose: TokenPurpose,
        created_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let row = ActiveModel {
            digest: Set(digest.to_owned()),
            user_id: Set(user.as_uuid()),
            purpose: Set(purpose.as_str().to_owned()),
            created_at: Set(created_at),
            expires_at: Set(expires_at),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .context("email token insert failed")?;
        Ok(())
    }

    async fn find(
        &self,
        digest: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<UserId>> {
        let row = Entity::find_by_id(digest.to_owned())
            .filter(Column::Purpose.eq(purpose.as_str()))
            .filter(Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await
            .context("email token lookup failed")?;
        Ok(row.map(|row| UserId::from_uuid(row.user_id)))
    }

    async fn consume(
        &self,
        digest: &str,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> anyhow::Result<Option<UserId>> {
        let Some(user) = self.find(digest, purpose, now).await? else {
            return Ok(None);
        };
        let deleted = Entity::delete_many()
            .filter(Column::Digest.eq(digest))
            .filter(Column::Purpose.eq(purpose.as_str()))
            .exec(&self.db)
            .await
            .context("email token delete failed")?;
        Ok((deleted.rows_affected == 1).then_some(user))
    }

    async fn discard_all(&self, user: UserId, purpose: TokenPurpose) -> anyhow::Result<()> {
        Entity::delete_many()
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::Purpose.eq(purpose.as_str()))
            .exec(&self.db)
            .await
            .context("email token cleanup failed")?;
        Ok(())
    }
}
