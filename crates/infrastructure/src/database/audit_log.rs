use std::collections::BTreeMap;

use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{AuditEvent, AuditFilter, AuditLog};
use gatehouse_domain::UserId;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Select};
use time::OffsetDateTime;

use super::entities::audit_event::{ActiveModel, Column, Entity, Model};
use super::keyset;

/// [`AuditLog`] on sea-orm; `data` is stored as a JSON object of strings.
#[derive(Clone)]
pub struct SeaOrmAuditLog {
    db: DatabaseConnection,
}

impl SeaOrmAuditLog {
    /// A log on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl AuditLog for SeaOrmAuditLog {
    async fn record(&self, event: &AuditEvent) -> anyhow::Result<()> {
        let row = ActiveModel {
            id: Set(event.id),
            event_type: Set(event.kind.as_str().to_owned()),
            user_id: Set(event.user.map(|u| u.as_uuid())),
            actor_id: Set(event.actor.map(|u| u.as_uuid())),
            ip: Set(event.ip.clone()),
            user_agent: Set(event.user_agent.clone()),
            data: Set(serde_json::to_string(&event.data).context("audit data")?),
            created_at: Set(event.created_at),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .context("audit insert failed")?;
        Ok(())
    }

    async fn prune(&self, before: OffsetDateTime, batch: u64) -> anyhow::Result<u64> {
        // Oldest first, a batch at a time, by the (created_at, id) index: no statement scans
        // or locks the whole table.
        let oldest = Query::select()
            .column(Column::Id)
            .from(Entity)
            .and_where(Column::CreatedAt.lt(before))
            .order_by(Column::CreatedAt, sea_orm::Order::Asc)
            .limit(batch)
            .to_owned();
        super::delete_selected::<Entity>(&self.db, Column::Id, oldest).await
    }

    async fn page(
        &self,
        filter: &AuditFilter,
        request: &PageRequest,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        let rows = keyset::page(filtered(filter), Column::CreatedAt, Column::Id, request)
            .all(&self.db)
            .await
            .context("audit query failed")?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn count(&self, filter: &AuditFilter) -> anyhow::Result<u64> {
        filtered(filter)
            .count(&self.db)
            .await
            .context("audit count failed")
    }
}

/// The events `filter` selects, for a page and a count alike. The user and the type each lead
/// an index that goes on with `(created_at, id)`, so a time range is a seek within it.
fn filtered(filter: &AuditFilter) -> Select<Entity> {
    let mut select = Entity::find();
    if let Some(user) = filter.user {
        select = select.filter(Column::UserId.eq(user.as_uuid()));
    }
    if let Some(kind) = filter.kind {
        select = select.filter(Column::EventType.eq(kind.as_str()));
    }
    if let Some(since) = filter.since {
        select = select.filter(Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        select = select.filter(Column::CreatedAt.lt(until));
    }
    select
}

fn to_domain(row: Model) -> anyhow::Result<AuditEvent> {
    let data: BTreeMap<String, String> =
        serde_json::from_str(&row.data).context("stored audit data is invalid")?;
    Ok(AuditEvent {
        id: row.id,
        kind: row
            .event_type
            .parse()
            .context("stored audit type is invalid")?,
        user: row.user_id.map(UserId::from_uuid),
        actor: row.actor_id.map(UserId::from_uuid),
        ip: row.ip,
        user_agent: row.user_agent,
        data,
        created_at: row.created_at,
    })
}
