use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::{TaskChange, TaskRepository};
use gatehouse_domain::{Task, TaskId, TaskStatus, UserId};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use time::OffsetDateTime;

use super::job_entities::task::{ActiveModel, Column, Entity, Model};

/// [`TaskRepository`] on sea-orm. Each change is one conditional `UPDATE ... WHERE status NOT
/// IN (final)`, so a revocation and a worker's report cannot overwrite each other.
#[derive(Clone)]
pub struct SeaOrmTaskRepository {
    db: DatabaseConnection,
}

impl SeaOrmTaskRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

const FINAL: [TaskStatus; 3] = [
    TaskStatus::Success,
    TaskStatus::Failure,
    TaskStatus::Revoked,
];

fn to_model(task: &Task) -> ActiveModel {
    ActiveModel {
        id: Set(task.id.as_uuid()),
        owner_id: Set(task.owner.map(|u| u.as_uuid())),
        kind: Set(task.kind.clone()),
        arguments: Set(task.arguments.to_string()),
        status: Set(task.status.as_str().to_owned()),
        result: Set(task.result.as_ref().map(|r| r.to_string())),
        error: Set(task.error.clone()),
        attempts: Set(i32::try_from(task.attempts).unwrap_or(i32::MAX)),
        created_at: Set(task.created_at),
        started_at: Set(task.started_at),
        finished_at: Set(task.finished_at),
    }
}

fn from_model(row: Model) -> anyhow::Result<Task> {
    let json = |text: &str| serde_json::from_str(text).context("stored task JSON is corrupt");
    Ok(Task {
        id: TaskId::from_uuid(row.id),
        owner: row.owner_id.map(UserId::from_uuid),
        kind: row.kind,
        arguments: json(&row.arguments)?,
        status: TaskStatus::parse(&row.status)
            .with_context(|| format!("stored task status {:?} is unknown", row.status))?,
        result: row.result.as_deref().map(json).transpose()?,
        error: row.error,
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
    })
}

#[async_trait]
impl TaskRepository for SeaOrmTaskRepository {
    async fn insert(&self, task: &Task) -> anyhow::Result<()> {
        Entity::insert(to_model(task))
            .exec_without_returning(&self.db)
            .await
            .context("task insert failed")?;
        Ok(())
    }

    async fn find(&self, id: TaskId) -> anyhow::Result<Option<Task>> {
        Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .context("task lookup failed")?
            .map(from_model)
            .transpose()
    }

    async fn advance(
        &self,
        id: TaskId,
        change: TaskChange,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let status = |s: TaskStatus| (Column::Status, Expr::value(s.as_str()));
        let finished = (Column::FinishedAt, Expr::value(at));
        let sets: Vec<(Column, SimpleExpr)> = match change {
            TaskChange::Started { attempt } => vec![
                status(TaskStatus::Started),
                (
                    Column::Attempts,
                    Expr::value(i32::try_from(attempt).unwrap_or(i32::MAX)),
                ),
                (Column::StartedAt, Expr::col(Column::StartedAt).if_null(at)),
            ],
            TaskChange::Succeeded(result) => vec![
                status(TaskStatus::Success),
                (Column::Result, Expr::value(result.to_string())),
                (Column::Error, Expr::value(Option::<String>::None)),
                finished,
            ],
            TaskChange::Retrying(error) => {
                vec![
                    status(TaskStatus::Retry),
                    (Column::Error, Expr::value(error)),
                ]
            }
            TaskChange::Failed(error) => vec![
                status(TaskStatus::Failure),
                (Column::Error, Expr::value(error)),
                finished,
            ],
            TaskChange::Revoked => vec![status(TaskStatus::Revoked), finished],
        };
        let mut update = Entity::update_many()
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.is_not_in(FINAL.map(TaskStatus::as_str)));
        for (column, value) in sets {
            update = update.col_expr(column, value);
        }
        let result = update.exec(&self.db).await.context("task update failed")?;
        Ok(result.rows_affected == 1)
    }
}
