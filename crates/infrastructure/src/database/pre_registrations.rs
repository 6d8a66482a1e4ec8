use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::PreRegistrations;
use gatehouse_domain::Email;
use sea_orm::ActiveValue::Set;
use sea_orm::{DatabaseConnection, EntityTrait, TryInsertResult};
use time::OffsetDateTime;

use super::entities::pre_registration::{ActiveModel, Column, Entity};

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
}
