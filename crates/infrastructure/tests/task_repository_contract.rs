//! The `TaskRepository` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::HashMap;

use gatehouse_application::pagination::{Direction, Keyset, PageRequest};
use gatehouse_application::ports::{TaskChange, TaskFilter, TaskRepository};
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

/// Runs `task` to a failure on its `attempts`-th run.
async fn failed_after(repo: &Repo, task: &Task, attempts: u32) {
    assert!(repo.insert(task, 20).await.unwrap());
    for attempt in 1..=attempts {
        let change = TaskChange::Started { attempt };
        assert!(repo.advance(task.id, change, at(1)).await.unwrap());
        if attempt < attempts {
            let retry = TaskChange::Retrying("smtp down".into());
            assert!(repo.advance(task.id, retry, at(2)).await.unwrap());
        }
    }
    let failed = TaskChange::Failed("gave up".into());
    assert!(repo.advance(task.id, failed, at(3)).await.unwrap());
}

/// A failed task goes back to pending with its error and timings cleared (the next run's
/// are its own) and its attempts kept, and runs again from there; a task in any other state
/// stays as it is.
async fn requeue_failed_moves_only_a_failed_task(repo: Repo) {
    let task = Task::queued(None, TaskKind::SendEmail, json!({"to": "ada"}), at(0));
    failed_after(&repo, &task, 3).await;
    assert!(repo.requeue_failed(task.id).await.unwrap());
    let requeued = repo.find(task.id).await.unwrap().unwrap();
    assert_eq!(
        requeued,
        Task {
            status: TaskStatus::Pending,
            attempts: 3,
            started_at: None,
            ..task.clone()
        },
        "error, result and timings cleared, attempts kept"
    );
    assert!(
        !repo.requeue_failed(task.id).await.unwrap(),
        "a pending task is not failed"
    );
    assert!(
        repo.advance(task.id, TaskChange::Started { attempt: 4 }, at(4))
            .await
            .unwrap(),
        "a re-queued task runs again"
    );

    let queued = |kind| Task::queued(Some(UserId::generate()), kind, json!({}), at(0));
    let (pending, started, retrying, succeeded, revoked) = (
        queued(TaskKind::Add),
        queued(TaskKind::Add),
        queued(TaskKind::LongRunning),
        queued(TaskKind::ProcessData),
        queued(TaskKind::Add),
    );
    for t in [&pending, &started, &retrying, &succeeded, &revoked] {
        assert!(repo.insert(t, 20).await.unwrap());
    }
    for (t, change) in [
        (&started, TaskChange::Started { attempt: 1 }),
        (&retrying, TaskChange::Retrying("later".into())),
        (&succeeded, TaskChange::Succeeded(json!(1))),
        (&revoked, TaskChange::Revoked),
    ] {
        assert!(repo.advance(t.id, change, at(1)).await.unwrap());
    }
    for t in [&pending, &started, &retrying, &succeeded, &revoked] {
        let before = repo.find(t.id).await.unwrap();
        assert!(!repo.requeue_failed(t.id).await.unwrap());
        assert_eq!(repo.find(t.id).await.unwrap(), before);
    }
    assert!(!repo.requeue_failed(TaskId::generate()).await.unwrap());
}

/// Two retries of one failed task at once: one re-queues it, the other finds it no longer
/// failed.
async fn two_requeues_at_once_move_the_task_once(repo: Repo) {
    for n in 0..5 {
        let task = Task::queued(None, TaskKind::SendEmail, json!({"n": n}), at(0));
        failed_after(&repo, &task, 1).await;
        let (first, second) =
            tokio::join!(repo.requeue_failed(task.id), repo.requeue_failed(task.id));
        let applied = [first.unwrap(), second.unwrap()];
        assert_eq!(applied.iter().filter(|&&a| a).count(), 1, "{applied:?}");
        let requeued = repo.find(task.id).await.unwrap().unwrap();
        assert_eq!(
            (requeued.status, requeued.attempts),
            (TaskStatus::Pending, 1)
        );
    }
}

/// Pages hold every owner's tasks and the service's own, filtered by state and kind, in
/// `(created_at, id)` order newest first; a filtered walk visits every match once.
async fn pages_filter_by_status_and_kind(repo: Repo) {
    let kinds = [TaskKind::Add, TaskKind::SendEmail, TaskKind::LongRunning];
    let mut tasks = Vec::new();
    for n in 0..12 {
        let kind = kinds[n % 3];
        let owner = (kind != TaskKind::SendEmail).then(UserId::generate);
        // Pairs share an instant, so the id decides between them.
        let created = at(i64::try_from(n / 2).unwrap());
        tasks.push(Task::queued(owner, kind, json!({"n": n}), created));
    }
    for t in &tasks {
        assert!(repo.insert(t, 20).await.unwrap());
    }
    // Every `add` fails, and one email: the rest stay pending.
    let failed: Vec<TaskId> = tasks
        .iter()
        .filter(|t| t.kind == TaskKind::Add)
        .map(|t| t.id)
        .chain([tasks[1].id])
        .collect();
    for id in &failed {
        let change = TaskChange::Failed("boom".into());
        assert!(repo.advance(*id, change, at(10)).await.unwrap());
    }
    let newest_first = |keep: &dyn Fn(&Task) -> bool| -> Vec<TaskId> {
        let mut kept: Vec<&Task> = tasks.iter().filter(|t| keep(t)).collect();
        kept.sort_by_key(|t| std::cmp::Reverse((t.created_at, t.id)));
        kept.into_iter().map(|t| t.id).collect()
    };
    let listed = |filter: TaskFilter| {
        let repo = repo.clone();
        async move {
            let first = PageRequest {
                from: None,
                limit: 100,
            };
            let rows = repo.page(&filter, &first).await.unwrap();
            rows.into_iter().map(|t| t.id).collect::<Vec<_>>()
        }
    };

    assert_eq!(listed(TaskFilter::default()).await, newest_first(&|_| true));
    let failures = TaskFilter {
        status: Some(TaskStatus::Failure),
        ..TaskFilter::default()
    };
    assert_eq!(
        listed(failures).await,
        newest_first(&|t| failed.contains(&t.id))
    );
    let emails = TaskFilter {
        kind: Some(TaskKind::SendEmail),
        ..TaskFilter::default()
    };
    assert_eq!(
        listed(emails).await,
        newest_first(&|t| t.kind == TaskKind::SendEmail)
    );
    let failed_emails = TaskFilter {
        status: Some(TaskStatus::Failure),
        ..emails
    };
    assert_eq!(listed(failed_emails).await, [tasks[1].id]);
    let running_adds = TaskFilter {
        status: Some(TaskStatus::Started),
        kind: Some(TaskKind::Add),
    };
    assert!(listed(running_adds).await.is_empty());

    let pending = TaskFilter {
        status: Some(TaskStatus::Pending),
        ..TaskFilter::default()
    };
    let expected = newest_first(&|t| !failed.contains(&t.id));
    assert_eq!(expected.len(), 7);
    let mut walked = Vec::new();
    let mut from = None;
    loop {
        let request = PageRequest { from, limit: 2 };
        let rows = repo.page(&pending, &request).await.unwrap();
        let more = rows.len() > 2;
        let page: Vec<Task> = rows.into_iter().take(2).collect();
        walked.extend(page.iter().map(|t| t.id));
        let Some(last) = page.last().filter(|_| more) else {
            break;
        };
        let position = Keyset {
            created_at: last.created_at,
            id: last.id.as_uuid(),
        };
        from = Some((Direction::Older, position));
    }
    assert_eq!(walked, expected);
}

/// How many tasks are in each state, leaving out the states nobody is in.
async fn count_by_status_counts_each_state_present(repo: Repo) {
    assert!(repo.count_by_status().await.unwrap().is_empty());
    let mut ids = Vec::new();
    for n in 0..8 {
        let task = Task::queued(
            Some(UserId::generate()),
            TaskKind::Add,
            json!({"n": n}),
            at(n),
        );
        assert!(repo.insert(&task, 20).await.unwrap());
        ids.push(task.id);
    }
    for (id, change) in [
        (ids[0], TaskChange::Started { attempt: 1 }),
        (ids[1], TaskChange::Retrying("later".into())),
        (ids[2], TaskChange::Succeeded(json!(1))),
        (ids[3], TaskChange::Failed("boom".into())),
        (ids[4], TaskChange::Failed("boom".into())),
    ] {
        assert!(repo.advance(id, change, at(10)).await.unwrap());
    }
    let counts = repo.count_by_status().await.unwrap();
    let by_status: HashMap<TaskStatus, u64> = counts.iter().copied().collect();
    assert_eq!(by_status.len(), counts.len(), "each state once: {counts:?}");
    assert_eq!(
        by_status,
        HashMap::from([
            (TaskStatus::Pending, 3),
            (TaskStatus::Started, 1),
            (TaskStatus::Retry, 1),
            (TaskStatus::Success, 1),
            (TaskStatus::Failure, 2),
        ]),
        "no task is revoked, so that state is left out"
    );
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
    requeue_failed_moves_only_a_failed_task,
    two_requeues_at_once_move_the_task_once,
    pages_filter_by_status_and_kind,
    count_by_status_counts_each_state_present,
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
    let first = PageRequest {
        from: None,
        limit: 10,
    };
    let of_kind = |kind| TaskFilter {
        kind: Some(kind),
        ..TaskFilter::default()
    };
    let listed = repo
        .page(&of_kind(TaskKind::Unrecognised), &first)
        .await
        .unwrap();
    assert_eq!(listed, [read], "the filter finds the rows read as unknown");
    assert!(
        repo.page(&of_kind(TaskKind::Add), &first)
            .await
            .unwrap()
            .is_empty()
    );
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

/// A row in a state this release does not know (a newer release wrote it) is left out of
/// the counts rather than failing them.
async fn a_stored_status_this_release_does_not_know_is_not_counted(url: &str) {
    use sea_orm::ConnectionTrait;
    let db = database::open(url, 4, true).await.unwrap();
    let repo = SeaOrmTaskRepository::new(db.clone());
    let task = Task::queued(None, TaskKind::SendEmail, json!({}), at(0));
    assert!(repo.insert(&task, 1).await.unwrap());
    // The only row in a fresh database.
    db.execute_unprepared("UPDATE tasks SET status = 'PAUSED'")
        .await
        .unwrap();
    let another = Task::queued(None, TaskKind::SendEmail, json!({}), at(1));
    assert!(repo.insert(&another, 1).await.unwrap());
    assert_eq!(
        repo.count_by_status().await.unwrap(),
        [(TaskStatus::Pending, 1)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_status_is_not_counted_on_sqlite() {
    let file = gatehouse_testing::TempSqlite::new();
    a_stored_status_this_release_does_not_know_is_not_counted(&file.url()).await;
}

#[cfg_attr(
    gatehouse_no_postgres,
    ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_status_is_not_counted_on_postgres() {
    let test_db = gatehouse_testing::postgres().await.unwrap();
    a_stored_status_this_release_does_not_know_is_not_counted(&test_db.url).await;
}
