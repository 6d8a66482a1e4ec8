//! The `AuditLog` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

mod support;

use std::collections::BTreeMap;

use gatehouse_application::pagination::{Direction, Keyset, PageRequest};
use gatehouse_application::ports::{AuditEvent, AuditFilter};
use gatehouse_domain::{AuditEventType, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use support::Backend;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap()
}

fn event(kind: AuditEventType, user: Option<UserId>, seconds: i64) -> AuditEvent {
    AuditEvent {
        id: Uuid::now_v7(),
        kind,
        user,
        actor: None,
        ip: None,
        user_agent: None,
        data: BTreeMap::new(),
        created_at: at(seconds),
    }
}

fn first_page(limit: u64) -> PageRequest {
    PageRequest { from: None, limit }
}

fn ids(events: &[AuditEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.id).collect()
}

async fn an_event_comes_back_as_recorded(db: Backend) {
    let log = db.audit_log();
    let ada = db.user("ada").await;
    let root = db.user("root").await;
    let recorded = AuditEvent {
        actor: Some(root),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("curl/8.5 ünïcode".into()),
        data: BTreeMap::from([
            ("from".to_owned(), "user".to_owned()),
            ("to".to_owned(), "admin".to_owned()),
        ]),
        ..event(AuditEventType::RoleChanged, Some(ada), 0)
    };
    log.record(&recorded).await.unwrap();
    let anonymous = event(AuditEventType::LoginFailed, None, 1);
    log.record(&anonymous).await.unwrap();

    let listed = log
        .page(&AuditFilter::default(), &first_page(10))
        .await
        .unwrap();
    assert_eq!(listed, vec![anonymous, recorded]);
}

async fn filters_select_by_user_and_type(db: Backend) {
    let log = db.audit_log();
    let ada = db.user("ada").await;
    let bob = db.user("bob").await;
    let events = [
        event(AuditEventType::LoginSucceeded, Some(ada), 0),
        event(AuditEventType::LoginFailed, Some(ada), 1),
        event(AuditEventType::LoginSucceeded, Some(bob), 2),
        event(AuditEventType::Logout, Some(ada), 3),
        event(AuditEventType::LoginFailed, None, 4),
    ];
    for e in &events {
        log.record(e).await.unwrap();
    }
    let listed = |filter: AuditFilter| {
        let log = log.clone();
        async move { ids(&log.page(&filter, &first_page(10)).await.unwrap()) }
    };
    let of_ada = AuditFilter {
        user: Some(ada),
        ..AuditFilter::default()
    };
    assert_eq!(
        listed(of_ada).await,
        ids(&[events[3].clone(), events[1].clone(), events[0].clone()])
    );
    let failures = AuditFilter {
        kind: Some(AuditEventType::LoginFailed),
        ..AuditFilter::default()
    };
    assert_eq!(
        listed(failures).await,
        ids(&[events[4].clone(), events[1].clone()])
    );
    let both = AuditFilter {
        user: Some(ada),
        kind: Some(AuditEventType::LoginSucceeded),
        ..AuditFilter::default()
    };
    assert_eq!(listed(both).await, ids(&[events[0].clone()]));
    let nothing = AuditFilter {
        user: Some(bob),
        kind: Some(AuditEventType::Logout),
        ..AuditFilter::default()
    };
    assert!(listed(nothing).await.is_empty());
}

/// Pages are ranges of the (created_at, id) order: newest first, one extra row to tell
/// whether there is more, both ways from a position, ties broken by id.
async fn pages_walk_both_ways_from_a_position(db: Backend) {
    let log = db.audit_log();
    // Two events share a timestamp: the id orders them.
    let events: Vec<AuditEvent> = [0, 1, 1, 2, 3]
        .into_iter()
        .map(|s| event(AuditEventType::Logout, None, s))
        .collect();
    for e in &events {
        log.record(e).await.unwrap();
    }
    let mut newest_first = events.clone();
    newest_first.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
    let all = AuditFilter::default();

    let first = log.page(&all, &first_page(2)).await.unwrap();
    assert_eq!(ids(&first), ids(&newest_first[..3]), "a page and one more");

    let position = |e: &AuditEvent| Keyset {
        created_at: e.created_at,
        id: e.id,
    };
    let older = PageRequest {
        from: Some((Direction::Older, position(&newest_first[1]))),
        limit: 2,
    };
    assert_eq!(
        ids(&log.page(&all, &older).await.unwrap()),
        ids(&newest_first[2..5])
    );
    let newer = PageRequest {
        from: Some((Direction::Newer, position(&newest_first[3]))),
        limit: 2,
    };
    let mut expected = newest_first[..3].to_vec();
    expected.reverse();
    assert_eq!(
        ids(&log.page(&all, &newer).await.unwrap()),
        ids(&expected),
        "newer rows come oldest first"
    );
}

/// Pruning deletes exactly the events older than the cutoff, oldest first, a batch at a time.
async fn pruning_deletes_only_events_before_the_cutoff(db: Backend) {
    let log = db.audit_log();
    let events: Vec<AuditEvent> = (0..7)
        .map(|s| event(AuditEventType::Logout, None, s))
        .collect();
    for e in &events {
        log.record(e).await.unwrap();
    }
    assert_eq!(log.prune(at(5), 3).await.unwrap(), 3, "one batch");
    assert_eq!(
        log.prune(at(5), 3).await.unwrap(),
        2,
        "the rest before the cutoff"
    );
    assert_eq!(log.prune(at(5), 3).await.unwrap(), 0);
    let left = log
        .page(&AuditFilter::default(), &first_page(10))
        .await
        .unwrap();
    assert_eq!(ids(&left), ids(&[events[6].clone(), events[5].clone()]));
}

/// `since` is inclusive and `until` exclusive, for pages (walked from a position too) and
/// for counts, alone or with the other filters.
async fn since_and_until_bound_pages_and_counts(db: Backend) {
    use AuditEventType::{LoginFailed, LoginSucceeded, Logout};
    let log = db.audit_log();
    let ada = db.user("ada").await;
    let bob = db.user("bob").await;
    let events = [
        event(LoginSucceeded, Some(ada), 0),
        event(LoginFailed, Some(ada), 1),
        event(LoginFailed, None, 2),
        event(LoginSucceeded, Some(bob), 3),
        event(LoginFailed, Some(ada), 4),
        event(Logout, Some(ada), 5),
        event(LoginFailed, Some(bob), 6),
    ];
    for e in &events {
        log.record(e).await.unwrap();
    }
    let newest_first =
        |picked: &[usize]| -> Vec<Uuid> { picked.iter().map(|&i| events[i].id).collect() };

    let window = AuditFilter {
        since: Some(at(2)),
        until: Some(at(5)),
        ..AuditFilter::default()
    };
    assert_eq!(
        ids(&log.page(&window, &first_page(10)).await.unwrap()),
        newest_first(&[4, 3, 2])
    );
    assert_eq!(log.count(&window).await.unwrap(), 3);

    let since = AuditFilter {
        since: Some(at(2)),
        ..AuditFilter::default()
    };
    assert_eq!(
        ids(&log.page(&since, &first_page(2)).await.unwrap()),
        newest_first(&[6, 5, 4])
    );
    let position = |i: usize| Keyset {
        created_at: events[i].created_at,
        id: events[i].id,
    };
    let older = |i: usize| PageRequest {
        from: Some((Direction::Older, position(i))),
        limit: 2,
    };
    assert_eq!(
        ids(&log.page(&since, &older(5)).await.unwrap()),
        newest_first(&[4, 3, 2])
    );
    assert_eq!(
        ids(&log.page(&since, &older(3)).await.unwrap()),
        newest_first(&[2]),
        "nothing before `since`"
    );
    let until = AuditFilter {
        until: Some(at(2)),
        ..AuditFilter::default()
    };
    let newer = PageRequest {
        from: Some((Direction::Newer, position(0))),
        limit: 2,
    };
    assert_eq!(
        ids(&log.page(&until, &newer).await.unwrap()),
        newest_first(&[1]),
        "nothing from `until` on"
    );

    let failures_since = AuditFilter {
        kind: Some(LoginFailed),
        since: Some(at(2)),
        ..AuditFilter::default()
    };
    assert_eq!(log.count(&failures_since).await.unwrap(), 3);
    assert_eq!(
        ids(&log.page(&failures_since, &first_page(10)).await.unwrap()),
        newest_first(&[6, 4, 2])
    );
    let failures_in_window = AuditFilter {
        until: Some(at(6)),
        ..failures_since
    };
    assert_eq!(log.count(&failures_in_window).await.unwrap(), 2);
    let ada_failures = AuditFilter {
        user: Some(ada),
        kind: Some(LoginFailed),
        ..AuditFilter::default()
    };
    assert_eq!(log.count(&ada_failures).await.unwrap(), 2);
    assert_eq!(log.count(&AuditFilter::default()).await.unwrap(), 7);
    let empty = AuditFilter {
        since: Some(at(3)),
        until: Some(at(3)),
        ..AuditFilter::default()
    };
    assert_eq!(log.count(&empty).await.unwrap(), 0);
    assert!(log.page(&empty, &first_page(10)).await.unwrap().is_empty());
}

database_contract!(
    pruning_deletes_only_events_before_the_cutoff,
    an_event_comes_back_as_recorded,
    filters_select_by_user_and_type,
    pages_walk_both_ways_from_a_position,
    since_and_until_bound_pages_and_counts,
);
