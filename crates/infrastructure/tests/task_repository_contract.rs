//! The `TaskRepository` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use gatehouse_application::ports::{TaskChange, TaskRepository};
use gatehouse_domain::{Task, TaskId, TaskKind, TaskStatus, UserId};
use gatehouse_infrastructure::database::{self, SeaOrmTaskRepository};
use gatehouse_memory::InMemoryTaskRepository;

/// The adapter under test.
type Repo = std::sync::Arc<dyn TaskRepository>;
use serde_json::json;
use time::OffsetDateTime;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

async fn round_trips_every_field(repo: Repo) {
    let mut task = Task::queued(
        Some(UserId::generate()),
        TaskKind::Add,
        json!({"x": 1.5, "y": 2}),
        at(0),
    );
    assert!(repo.insert(&task, 20).await.unwrap());
    assert_eq!(repo.find(task.id).await.unwrap(), Some(task.clone()));

    task.id = TaskId::generate();
    task.owner = None;
    task.kind = TaskKind::SendEmail;
    assert!(repo.insert(&task, 20).await.unwrap());
    assert_eq!(repo.find(task.id).await.unwrap(), Some(task));
    assert_eq!(repo.find(TaskId::generate()).await.unwrap(), None);
}

async fn a_task_walks_its_lifecycle(repo: Repo) {
    let task = Task::queued(None, TaskKind::Add, json!({}), at(0));
    assert!(repo.insert(&task, 20).await.unwrap());

    assert!(
        repo.advance(task.id, TaskChange::Started { attempt: 1 }, at(1))
            .await
            .unwrap()
    );
    assert!(
        repo.advance(task.id, TaskChange::Retrying("smtp down".into()), at(2))
            .await
            .unwrap()
    );
    let retrying = repo.find(task.id).await.unwrap().unwrap();
    assert_eq!(
        (
            retrying.status,
            retrying.attempts,
            retrying.error.as_deref()
        ),
        (TaskStatus::Retry, 1, Some("smtp down"))
    );
    assert!(
        repo.advance(task.id, TaskChange::Started { attempt: 2 }, at(3))
            .await
            .unwrap()
    );
    assert!(
        repo.advance(task.id, TaskChange::Succeeded(json!(3.5)), at(4))
            .await
            .unwrap()
    );

    let done = repo.find(task.id).await.unwrap().unwrap();
    assert_eq!(done.status, TaskStatus::Success);
    assert_eq!(done.attempts, 2);
    assert_eq!(done.result, Some(json!(3.5)));
    assert_eq!(done.error, None, "a success clears the last error");
    assert_eq!(
        done.started_at,
        Some(at(1)),
        "started_at is the first run's"
    );
    assert_eq!(done.finished_at, Some(at(4)));
}

async fn final_tasks_never_change(repo: Repo) {
    let task = Task::queued(None, TaskKind::LongRunning, json!({"seconds": 5}), at(0));
    assert!(repo.insert(&task, 20).await.unwrap());
    assert!(
        repo.advance(task.id, TaskChange::Started { attempt: 1 }, at(1))
            .await
            .unwrap()
    );
    assert!(
        repo.advance(task.id, TaskChange::Revoked, at(2))
            .await
            .unwrap()
    );

    for late in [
        TaskChange::Succeeded(json!(1)),
        TaskChange::Failed("late".into()),
        TaskChange::Retrying("late".into()),
        TaskChange::Started { attempt: 2 },
        TaskChange::Revoked,
    ] {
        assert!(!repo.advance(task.id, late, at(3)).await.unwrap());
    }
    let revoked = repo.find(task.id).await.unwrap().unwrap();
    assert_eq!(
        (revoked.status, revoked.finished_at),
        (TaskStatus::Revoked, Some(at(2)))
    );
    assert!(
        !repo
            .advance(TaskId::generate(), TaskChange::Revoked, at(3))
            .await
            .unwrap()
    );
}

/// Forty inserts at once for one owner with room for five: exactly five are stored. A task
/// that ends frees its place (once: a late change to a final task frees nothing); other
/// owners and ownerless tasks are not counted.
async fn an_owner_holds_at_most_max_open_unfinished_tasks(repo: Repo) {
    let owner = UserId::generate();
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let repo = repo.clone();
            let task = Task::queued(Some(owner), TaskKind::Add, json!({}), at(0));
            tokio::spawn(async move { (repo.insert(&task, 5).await.unwrap(), task.id) })
        })
        .collect();
    let mut stored = Vec::new();
    for attempt in attempts {
        let (inserted, id) = attempt.await.unwrap();
        if inserted {
            stored.push(id);
        } else {
            assert_eq!(
                repo.find(id).await.unwrap(),
                None,
                "a refused task is not stored"
            );
        }
    }
    assert_eq!(stored.len(), 5);
    let another = || Task::queued(Some(owner), TaskKind::Add, json!({}), at(1));
    assert!(!repo.insert(&another(), 5).await.unwrap());
    assert!(
        repo.insert(
            &Task::queued(Some(UserId::generate()), TaskKind::Add, json!({}), at(1)),
            5
        )
        .await
        .unwrap(),
        "another owner has places of their own"
    );
    assert!(
        repo.insert(
            &Task::queued(None, TaskKind::SendEmail, json!({}), at(1)),
            0
        )
        .await
        .unwrap(),
        "the service's own tasks are not counted"
    );

    // A started or retrying task still holds its place; a final one frees it, once.
    repo.advance(stored[0], TaskChange::Started { attempt: 1 }, at(2))
        .await
        .unwrap();
    assert!(!repo.insert(&another(), 5).await.unwrap());
    repo.advance(stored[0], TaskChange::Succeeded(json!(1)), at(3))
        .await
        .unwrap();
    repo.advance(stored[0], TaskChange::Revoked, at(4))
        .await
        .unwrap();
    assert!(repo.insert(&another(), 5).await.unwrap());
    assert!(!repo.insert(&another(), 5).await.unwrap());
    for (id, change) in [
        (stored[1], TaskChange::Revoked),
        (stored[2], TaskChange::Failed("boom".into())),
    ] {
        repo.advance(id, change, at(5)).await.unwrap();
    }
    assert!(repo.insert(&another(), 5).await.unwrap());
    assert!(repo.insert(&another(), 5).await.unwrap());
    assert!(!repo.insert(&another(), 5).await.unwrap());
}

/// Pruning deletes the service's own tasks that finished before the cutoff, and nothing
/// else: not unfinished ones, not recent ones, never a user's.
async fn pruning_deletes_only_old_finished_service_jobs(repo: Repo) {
    let job = |owner| Task::queued(owner, TaskKind::SendEmail, json!({}), at(0));
    let (old, recent, running, owned) = (
        job(None),
        job(None),
        job(None),
        job(Some(UserId::generate())),
    );
    for task in [&old, &recent, &running, &owned] {
        assert!(repo.insert(task, 20).await.unwrap());
    }
    for (task, finished) in [(&old, at(10)), (&owned, at(10)), (&recent, at(100))] {
        repo.advance(task.id, TaskChange::Succeeded(json!(true)), finished)
            .await
            .unwrap();
    }
    repo.advance(running.id, TaskChange::Started { attempt: 1 }, at(5))
        .await
        .unwrap();
    assert_eq!(repo.prune_finished_jobs(at(50), 100).await.unwrap(), 1);
    assert_eq!(repo.find(old.id).await.unwrap(), None);
    for kept in [&recent, &running, &owned] {
        assert!(repo.find(kept.id).await.unwrap().is_some());
    }
}

async fn sqlite() -> (Repo, gatehouse_testing::TempSqlite) {
    let file = gatehouse_testing::TempSqlite::new();
    let db = database::open(&file.url(), 4, true).await.unwrap();
    (std::sync::Arc::new(SeaOrmTaskRepository::new(db)), file)
}

async fn postgres() -> Option<(Repo, gatehouse_testing::TestDatabase)> {
    let test_db = gatehouse_testing::postgres().await?;
    let db = database::open(&test_db.url, 8, true).await.unwrap();
    Some((std::sync::Arc::new(SeaOrmTaskRepository::new(db)), test_db))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemoryTaskRepository::new())).await;
            })*
        }
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (repo, _file) = super::sqlite().await;
                super::$case(repo).await;
            })*
        }
        mod on_postgres {
            $(#[cfg_attr(gatehouse_no_postgres, ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL")]
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((repo, _db)) = super::postgres().await else { return };
                super::$case(repo).await;
            })*
        }
    };
}

contract!(
    round_trips_every_field,
    a_task_walks_its_lifecycle,
    final_tasks_never_change,
    an_owner_holds_at_most_max_open_unfinished_tasks,
    pruning_deletes_only_old_finished_service_jobs,
);

/// A row whose kind this release does not know (a newer release wrote it) is read, not an
/// error: it can be shown, revoked, and stops holding a place in its owner's quota.
async fn a_stored_kind_this_release_does_not_know_stays_readable(url: &str) {
    use sea_orm::ConnectionTrait;
    let db = database::open(url, 4, true).await.unwrap();
    let repo = SeaOrmTaskRepository::new(db.clone());
    let owner = UserId::generate();
    let task = Task::queued(Some(owner), TaskKind::Add, json!({}), at(0));
    assert!(repo.insert(&task, 1).await.unwrap());
    // The only row in a fresh database.
    db.execute_unprepared("UPDATE tasks SET kind = 'from_a_newer_release'")
        .await
        .unwrap();
    let read = repo.find(task.id).await.unwrap().unwrap();
    assert_eq!(read.kind, TaskKind::Unrecognised);
    assert!(
        repo.advance(task.id, TaskChange::Revoked, at(1))
            .await
            .unwrap()
    );
    let another = Task::queued(Some(owner), TaskKind::Add, json!({}), at(2));
    assert!(
        repo.insert(&another, 1).await.unwrap(),
        "the revoked one no longer counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_kind_stays_readable_on_sqlite() {
    let file = gatehouse_testing::TempSqlite::new();
    a_stored_kind_this_release_does_not_know_stays_readable(&file.url()).await;
}

#[cfg_attr(
    gatehouse_no_postgres,
    ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_kind_stays_readable_on_postgres() {
    let test_db = gatehouse_testing::postgres().await.unwrap();
    a_stored_kind_this_release_does_not_know_stays_readable(&test_db.url).await;
}
