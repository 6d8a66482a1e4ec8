use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::DeviceRepository;
use gatehouse_domain::{Device, DeviceId, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use time::OffsetDateTime;

use super::entities::device::{ActiveModel, Column, Entity, Model};

/// [`DeviceRepository`] on sea-orm (PostgreSQL or SQLite).
#[derive(Clone)]
pub struct SeaOrmDeviceRepository {
    db: DatabaseConnection,
}

impl SeaOrmDeviceRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn to_domain(row: Model) -> Device {
    Device {
        id: DeviceId::from_uuid(row.id),
        user: UserId::from_uuid(row.user_id),
        user_agent: row.user_agent,
        ip: row.ip,
        first_seen_at: row.first_seen_at,
        last_seen_at: row.last_seen_at,
    }
}

#[async_trait]
impl DeviceRepository for SeaOrmDeviceRepository {
    async fn record_sign_in(
        &self,
        user: UserId,
        user_agent: &str,
        ip: Option<String>,
        now: OffsetDateTime,
    ) -> anyhow::Result<Device> {
        let row = ActiveModel {
            id: Set(DeviceId::generate().as_uuid()),
            user_id: Set(user.as_uuid()),
            user_agent: Set(user_agent.to_owned()),
            ip: Set(ip),
            first_seen_at: Set(now),
            last_seen_at: Set(now),
        };
        let on_conflict = OnConflict::columns([Column::UserId, Column::UserAgent])
            .update_columns([Column::Ip, Column::LastSeenAt])
            .to_owned();
        Entity::insert(row)
            .on_conflict(on_conflict)
            .exec_without_returning(&self.db)
            .await
            .context("device upsert failed")?;
        let device = Entity::find()
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::UserAgent.eq(user_agent))
            .one(&self.db)
            .await
            .context("device query failed")?
            .context("upserted device is missing")?;
        Ok(to_domain(device))
    }

    async fn list(&self, user: UserId) -> anyhow::Result<Vec<Device>> {
        let rows = Entity::find()
            .filter(Column::UserId.eq(user.as_uuid()))
            .order_by_desc(Column::LastSeenAt)
            .order_by_desc(Column::Id)
            .all(&self.db)
            .await
            .context("device query failed")?;
        Ok(rows.into_iter().map(to_domain).collect())
    }

    async fn delete(&self, user: UserId, device: DeviceId) -> anyhow::Result<bool> {
        let result = Entity::delete_many()
            .filter(Column::Id.eq(device.as_uuid()))
            .filter(Column::UserId.eq(user.as_uuid()))
            .exec(&self.db)
            .await
            .context("device delete failed")?;
        Ok(result.rows_affected > 0)
    }
}
