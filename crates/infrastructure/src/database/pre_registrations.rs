use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::pagination::Direction;
use gatehouse_application::ports::{PreRegistration, PreRegistrations};
use gatehouse_domain::Email;
use sea_orm::ActiveValue::Set;
use sea_orm::{DatabaseConnection, EntityTrait, TryInsertResult, Value};
use time::OffsetDateTime;

use super::entities::pre_registration::{ActiveModel, Column, Entity};
use super::keyset;

/// [`PreRegistrations`] on sea-orm: the email is the primary key, and a repeat is a no-op
/// (`ON CONFLICT DO NOTHING`), so concurrent duplicates cannot fail either.
#[derive(Clone)]
pub struct SeaOrmPreRegistrations {
    db: DatabaseConnection,
}

impl SeaOrmPreRegistrations {
    /// A store on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[async_trait]
impl PreRegistrations for SeaOrmPreRegistrations {
    async fn add(&self, email: &Email, at: OffsetDateTime) -> anyhow::Result<bool> {
        let row = ActiveModel {
            email: Set(email.as_str().to_owned()),
            created_at: Set(at),
        };
        let result = Entity::insert(row)
            .on_conflict_do_nothing_on([Column::Email])
            .exec_without_returning(&self.db)
            .await
            .context("pre-registration insert failed")?;
        Ok(matches!(result, TryInsertResult::Inserted(n) if n > 0))
    }

    async fn list<'a>(
        &self,
        after: Option<&'a PreRegistration>,
        limit: u64,
    ) -> anyhow::Result<Vec<PreRegistration>> {
        // A keyset walk down the ascending `(created_at, email)` list: the email, being the
        // key, breaks ties between addresses added at the same instant.
        let from = after.map(|last| {
            (
                Direction::Older,
                Value::from(last.created_at),
                Value::from(last.email.clone()),
            )
        });
        let rows = keyset::page_by(
            Entity::find(),
            Column::CreatedAt,
            Column::Email,
            true,
            from,
            limit,
        )
        .all(&self.db)
        .await
        .context("pre-registration query failed")?;
        Ok(rows
            .into_iter()
            .map(|row| PreRegistration {
                email: row.email,
                created_at: row.created_at,
            })
            .collect())
    }
}
