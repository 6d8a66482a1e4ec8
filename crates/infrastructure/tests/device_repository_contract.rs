//! The `DeviceRepository` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use gatehouse_domain::DeviceId;
use time::{Duration, OffsetDateTime};

use support::Backend;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

async fn a_second_sign_in_with_the_same_agent_updates_the_device(db: Backend) {
    let repo = db.devices();
    let jane = db.user("jane").await;
    let first = repo
        .record_sign_in(jane, "Firefox/140", Some("10.0.0.1".into()), at(0))
        .await
        .unwrap();
    let again = repo
        .record_sign_in(jane, "Firefox/140", Some("10.0.0.2".into()), at(60))
        .await
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(again.first_seen_at, at(0));
    assert_eq!(again.last_seen_at, at(60));
    assert_eq!(again.ip.as_deref(), Some("10.0.0.2"));
}

async fn other_agents_are_other_devices_listed_newest_first(db: Backend) {
    let repo = db.devices();
    let jane = db.user("jane").await;
    let phone = repo
        .record_sign_in(jane, "Phone", None, at(0))
        .await
        .unwrap();
    let laptop = repo
        .record_sign_in(jane, "Laptop", None, at(10))
        .await
        .unwrap();
    let ids: Vec<DeviceId> = repo
        .list(jane)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, vec![laptop.id, phone.id]);
    repo.record_sign_in(jane, "Phone", None, at(20))
        .await
        .unwrap();
    let ids: Vec<DeviceId> = repo
        .list(jane)
        .await
        .unwrap()
        .iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, vec![phone.id, laptop.id]);
}

async fn users_only_see_and_delete_their_own_devices(db: Backend) {
    let repo = db.devices();
    let (jane, sam) = (db.user("jane").await, db.user("sam").await);
    let janes = repo
        .record_sign_in(jane, "Browser", None, at(0))
        .await
        .unwrap();
    repo.record_sign_in(sam, "Browser", None, at(0))
        .await
        .unwrap();
    assert_eq!(repo.list(sam).await.unwrap().len(), 1);
    assert!(
        !repo.delete(sam, janes.id).await.unwrap(),
        "not sam's device"
    );
    assert!(repo.delete(jane, janes.id).await.unwrap());
    assert!(repo.list(jane).await.unwrap().is_empty());
    assert!(!repo.delete(jane, janes.id).await.unwrap(), "already gone");
}

async fn concurrent_sign_ins_make_one_device(db: Backend) {
    let repo = db.devices();
    let jane = db.user("jane").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let repo = repo.clone();
            tokio::spawn(async move {
                repo.record_sign_in(jane, "Same", None, at(0) + Duration::seconds(i))
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(repo.list(jane).await.unwrap().len(), 1);
}

database_contract!(
    a_second_sign_in_with_the_same_agent_updates_the_device,
    other_agents_are_other_devices_listed_newest_first,
    users_only_see_and_delete_their_own_devices,
    concurrent_sign_ins_make_one_device,
);
