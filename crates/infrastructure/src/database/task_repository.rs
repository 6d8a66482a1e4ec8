use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{TaskChange, TaskFilter, TaskRepository};
use gatehouse_domain::{Task, TaskId, TaskKind, TaskStatus, UserId};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    TransactionTrait,
};
use time::OffsetDateTime;

use super::entities::task::{ActiveModel, Column, Entity, Model};
use super::entities::task_quota;
use super::keyset;

/// [`TaskRepository`] on sea-orm. Each change is one conditional `UPDATE ... WHERE status NOT
/// IN (final)`, so a revocation and a worker's report cannot overwrite each other; a re-queue
/// is one `UPDATE ... WHERE status = 'FAILURE'`, so two at once move the task once.
///
/// An owner's unfinished tasks are counted from the tasks themselves (a partial index keeps
/// that cheap), inside a transaction that first writes the owner's `task_quotas` row: on
/// PostgreSQL that row lock makes one owner's creations count and insert one at a time (each
/// counting after the previous one committed); on SQLite the first write takes the
/// database's write lock, which does the same. Nothing is kept that could drift.
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

/// The predicate of the `tasks_owner_unfinished_idx` partial index (migration 6), verbatim.
const UNFINISHED: &str = "status NOT IN ('SUCCESS', 'FAILURE', 'REVOKED')";

const FINAL: [TaskStatus; 3] = [
    TaskStatus::Success,
    TaskStatus::Failure,
    TaskStatus::Revoked,
];

fn to_model(task: &Task) -> ActiveModel {
    ActiveModel {
        id: Set(task.id.as_uuid()),
        owner_id: Set(task.owner.map(|u| u.as_uuid())),
        kind: Set(task.kind.as_str().to_owned()),
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

/// Tasks of `kind`. [`TaskKind::Unrecognised`] selects the rows read as it, those whose
/// stored kind this release does not know, so that they can be found and revoked.
fn kind_condition(kind: TaskKind) -> SimpleExpr {
    match kind {
        TaskKind::Unrecognised => Column::Kind.is_not_in(TaskKind::ALL.map(TaskKind::as_str)),
        known => Column::Kind.eq(known.as_str()),
    }
}

fn from_model(row: Model) -> anyhow::Result<Task> {
    let json = |text: &str| serde_json::from_str(text).context("stored task JSON is corrupt");
    Ok(Task {
        id: TaskId::from_uuid(row.id),
        owner: row.owner_id.map(UserId::from_uuid),
        // A kind a newer release wrote stays readable (and revocable); the runner fails it.
        kind: TaskKind::parse(&row.kind).unwrap_or_else(|| {
            tracing::debug!(kind = %row.kind, "stored task of a kind this release does not know");
            TaskKind::Unrecognised
        }),
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
    async fn insert(&self, task: &Task, max_open: u32) -> anyhow::Result<bool> {
        let Some(owner) = task.owner else {
            Entity::insert(to_model(task))
                .exec_without_returning(&self.db)
                .await
                .context("task insert failed")?;
            return Ok(true);
        };
        let txn = self
            .db
            .begin()
            .await
            .context("cannot start a transaction")?;
        // The first statement writes, so SQLite takes its write lock at once: concurrent
        // inserts queue on it rather than deadlock upgrading a read.
        let now = task.created_at;
        task_quota::Entity::insert(task_quota::ActiveModel {
            user_id: Set(owner.as_uuid()),
            checked_at: Set(Some(now)),
        })
        .on_conflict_do_nothing_on([task_quota::Column::UserId])
        .exec_without_returning(&txn)
        .await
        .context("task quota insert failed")?;
        task_quota::Entity::update_many()
            .col_expr(task_quota::Column::CheckedAt, Expr::value(now))
            .filter(task_quota::Column::UserId.eq(owner.as_uuid()))
            .exec(&txn)
            .await
            .context("task quota lock failed")?;
        // The condition is written out, not bound, so that it is the partial index's own
        // text: both databases then use the index and count only unfinished tasks.
        let open = Entity::find()
            .filter(Column::OwnerId.eq(owner.as_uuid()))
            .filter(Expr::cust(UNFINISHED))
            .count(&txn)
            .await
            .context("task count failed")?;
        if open >= u64::from(max_open) {
            txn.rollback().await.context("task rollback failed")?;
            return Ok(false);
        }
        Entity::insert(to_model(task))
            .exec_without_returning(&txn)
            .await
            .context("task insert failed")?;
        txn.commit().await.context("task commit failed")?;
        Ok(true)
    }

    async fn prune_finished_jobs(&self, before: OffsetDateTime, batch: u64) -> anyhow::Result<u64> {
        let oldest = Query::select()
            .column(Column::Id)
            .from(Entity)
            .and_where(Column::OwnerId.is_null())
            .and_where(Column::Status.is_in(FINAL.map(TaskStatus::as_str)))
            .and_where(Column::FinishedAt.lt(before))
            .limit(batch)
            .to_owned();
        super::delete_selected::<Entity>(&self.db, Column::Id, oldest).await
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

    async fn requeue_failed(&self, id: TaskId) -> anyhow::Result<bool> {
        // One conditional statement: of two retries at once, the second finds the task
        // no longer failed and changes nothing.
        let result = Entity::update_many()
            .col_expr(Column::Status, Expr::value(TaskStatus::Pending.as_str()))
            .col_expr(Column::Error, Expr::value(Option::<String>::None))
            .col_expr(Column::Result, Expr::value(Option::<String>::None))
            .col_expr(
                Column::StartedAt,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .col_expr(
                Column::FinishedAt,
                Expr::value(Option::<OffsetDateTime>::None),
            )
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.eq(TaskStatus::Failure.as_str()))
            .exec(&self.db)
            .await
            .context("task requeue update failed")?;
        Ok(result.rows_affected == 1)
    }

    async fn page(&self, filter: &TaskFilter, request: &PageRequest) -> anyhow::Result<Vec<Task>> {
        let mut select = Entity::find();
        if let Some(status) = filter.status {
            select = select.filter(Column::Status.eq(status.as_str()));
        }
        if let Some(kind) = filter.kind {
            select = select.filter(kind_condition(kind));
        }
        keyset::page(select, Column::CreatedAt, Column::Id, request)
            .all(&self.db)
            .await
            .context("task page query failed")?
            .into_iter()
            .map(from_model)
            .collect()
    }

    async fn count_by_status(&self) -> anyhow::Result<Vec<(TaskStatus, u64)>> {
        let rows: Vec<(String, i64)> = Entity::find()
            .select_only()
            .column(Column::Status)
            .column_as(Expr::col(Column::Id).count(), "tasks")
            .group_by(Column::Status)
            .into_tuple()
            .all(&self.db)
            .await
            .context("task count failed")?;
        let mut counts = Vec::with_capacity(rows.len());
        for (stored, tasks) in rows {
            // A state a newer release wrote is nothing this one can show or act on.
            let Some(status) = TaskStatus::parse(&stored) else {
                tracing::debug!(status = %stored, "stored task status this release does not know");
                continue;
            };
            counts.push((
                status,
                u64::try_from(tasks).context("task count is negative")?,
            ));
        }
        // In the order of their names, as every adapter lists them.
        counts.sort_by_key(|(status, _)| status.as_str());
        Ok(counts)
    }
}
