//! The `UserRepository` contract, run against every adapter: in-memory, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::collections::BTreeSet;

use gatehouse_application::pagination::{Direction, Keyset, PageRequest};
use gatehouse_application::ports::{
    AccessFields, ImportWrite, InsertUserError, ProfileChanges, UserFilter, UserRepository,
};
use gatehouse_domain::{
    Email, PasswordHash, Permission, PhoneNumber, Role, SecurityStamp, User, UserId, Username,
};
use gatehouse_infrastructure::database::{self, SeaOrmUserRepository};
use gatehouse_memory::InMemoryUserRepository;

/// The adapter under test.
type Repo = std::sync::Arc<dyn UserRepository>;
use time::OffsetDateTime;

fn user(email: &str, username: &str) -> User {
    // Whole milliseconds: every backend stores at least that precision.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
        + time::Duration::milliseconds(123);
    User::register(
        Email::parse(email).unwrap(),
        Username::parse(username).unwrap(),
        PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu".into()),
        now,
    )
}

async fn round_trips_every_field(repo: Repo) {
    let mut jane = user("jane@example.com", "Jane_Doe");
    jane.first_name = "Jane".into();
    jane.last_name = "Doe".into();
    jane.role = Role::Admin;
    jane.permissions = BTreeSet::from([Permission::CanCreateUser]);
    jane.is_verified = true;
    repo.insert(&jane).await.unwrap();
    assert_eq!(repo.find_by_id(jane.id).await.unwrap(), Some(jane.clone()));
}

async fn finds_by_email_and_by_username_ignoring_case(repo: Repo) {
    let jane = user("jane@example.com", "Jane_Doe");
    repo.insert(&jane).await.unwrap();
    let by_email = repo
        .find_by_email(&Email::parse("JANE@example.com").unwrap())
        .await
        .unwrap();
    assert_eq!(by_email.map(|u| u.id), Some(jane.id));
    let by_name = repo
        .find_by_username(&Username::parse("jane_doe").unwrap())
        .await
        .unwrap();
    assert_eq!(by_name.map(|u| u.id), Some(jane.id));
}

async fn unknown_users_are_none(repo: Repo) {
    assert!(repo.find_by_id(UserId::generate()).await.unwrap().is_none());
    assert!(
        repo.find_by_email(&Email::parse("nobody@example.com").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        repo.find_by_username(&Username::parse("nobody").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

async fn duplicate_email_is_refused(repo: Repo) {
    repo.insert(&user("jane@example.com", "jane"))
        .await
        .unwrap();
    let err = repo
        .insert(&user("Jane@Example.com", "other"))
        .await
        .unwrap_err();
    assert!(matches!(err, InsertUserError::EmailTaken), "{err:?}");
}

async fn duplicate_username_ignoring_case_is_refused(repo: Repo) {
    repo.insert(&user("jane@example.com", "jane"))
        .await
        .unwrap();
    let err = repo
        .insert(&user("other@example.com", "JANE"))
        .await
        .unwrap_err();
    assert!(matches!(err, InsertUserError::UsernameTaken), "{err:?}");
}

async fn concurrent_registrations_of_one_email_admit_one(repo: Repo) {
    let attempts = (0..8).map(|i| {
        let repo = repo.clone();
        tokio::spawn(async move {
            repo.insert(&user("race@example.com", &format!("racer{i}")))
                .await
        })
    });
    let mut admitted = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => admitted += 1,
            Err(InsertUserError::EmailTaken) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(admitted, 1);
}

async fn sqlite() -> (Repo, gatehouse_testing::TempSqlite) {
    let file = gatehouse_testing::TempSqlite::new();
    let db = database::open(&file.url(), 4, true).await.unwrap();
    (std::sync::Arc::new(SeaOrmUserRepository::new(db)), file)
}

/// Pages walk `(created_at, id)` newest first, both ways, ties broken by id; microsecond
/// timestamps (the finest PostgreSQL keeps) compare exactly on both backends.
async fn pages_walk_both_ways_in_keyset_order(repo: Repo) {
    let base = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let mut users = Vec::new();
    for n in 0..7i64 {
        let mut u = user(&format!("p{n}@example.com"), &format!("page{n}"));
        // Two users share each instant but the first: the id decides between them.
        u.created_at = base + time::Duration::microseconds(1 + n / 2 * 250_001);
        users.push(u.clone());
    }
    repo.insert_many(&users).await.unwrap();
    users.sort_by_key(|u| std::cmp::Reverse((u.created_at, u.id)));
    let expected: Vec<_> = users.iter().map(|u| u.id).collect();

    let mut walked = Vec::new();
    let mut request = PageRequest {
        from: None,
        limit: 3,
    };
    loop {
        let rows = repo.page(&UserFilter::default(), &request).await.unwrap();
        let more = rows.len() as u64 > request.limit;
        let page: Vec<_> = rows.into_iter().take(3).collect();
        walked.extend(page.iter().map(|u| u.id));
        let Some(last) = page.last().filter(|_| more) else {
            break;
        };
        let at = Keyset {
            created_at: last.created_at,
            id: last.id.as_uuid(),
        };
        request = PageRequest {
            from: Some((Direction::Older, at)),
            limit: 3,
        };
    }
    assert_eq!(walked, expected);

    let oldest = users.last().unwrap();
    let at = Keyset {
        created_at: oldest.created_at,
        id: oldest.id.as_uuid(),
    };
    let newer = repo
        .page(
            &UserFilter::default(),
            &PageRequest {
                from: Some((Direction::Newer, at)),
                limit: 3,
            },
        )
        .await
        .unwrap();
    // limit + 1 rows, oldest first: the extra one says there is more.
    assert_eq!(newer.len(), 4);
    let newer: Vec<_> = newer.iter().take(3).map(|u| u.id).collect();
    assert_eq!(
        newer,
        expected[3..6].iter().rev().copied().collect::<Vec<_>>()
    );
}

fn later(user: &User, seconds: i64) -> OffsetDateTime {
    user.updated_at + time::Duration::seconds(seconds)
}

/// Each write changes the columns it owns and nothing else (never the credit balance), and
/// the ones that change how the account signs in or what it may do move the stamp.
async fn each_write_touches_only_its_own_fields(repo: Repo) {
    let mut jane = user("jane@example.com", "jane");
    jane.credits = 50;
    repo.insert(&jane).await.unwrap();
    let stored = || async { repo.find_by_id(jane.id).await.unwrap().unwrap() };

    // Two changes of different fields, one after the other: the second leaves the first.
    let phone = PhoneNumber::parse("+442079460958").unwrap();
    let named = ProfileChanges {
        first_name: Some("Jane".into()),
        ..ProfileChanges::default()
    };
    assert!(
        repo.update_profile(jane.id, &named, later(&jane, 1))
            .await
            .unwrap()
    );
    let profile = ProfileChanges {
        phone_number: Some(Some(phone.clone())),
        product_emails: Some(true),
        ..ProfileChanges::default()
    };
    assert!(
        repo.update_profile(jane.id, &profile, later(&jane, 1))
            .await
            .unwrap()
    );
    assert!(
        repo.set_avatar_url(jane.id, "https://x/a.png", later(&jane, 2))
            .await
            .unwrap()
    );
    assert!(repo.mark_verified(jane.id, later(&jane, 3)).await.unwrap());
    let after_profile = stored().await;
    let expected = User {
        first_name: "Jane".into(),
        phone_number: Some(phone),
        notifications: gatehouse_domain::NotificationPreferences {
            product_emails: true,
            ..jane.notifications
        },
        avatar_url: Some("https://x/a.png".into()),
        is_verified: true,
        updated_at: later(&jane, 3),
        ..jane.clone()
    };
    assert_eq!(
        after_profile, expected,
        "profile writes leave the stamp alone"
    );

    let hash = PasswordHash::new("$2b$04$another-hash-entirely-xx".into());
    let stamp = repo
        .set_password(jane.id, &hash, Some(&jane.password_hash), later(&jane, 4))
        .await
        .unwrap();
    assert_eq!(stamp, Some(SecurityStamp::new(1)));
    let promoted = AccessFields {
        role: Role::Admin,
        permissions: BTreeSet::from([Permission::CanViewUsers]),
        is_active: true,
    };
    let stamp = repo
        .update_access(jane.id, &promoted, SecurityStamp::new(1), later(&jane, 5))
        .await
        .unwrap();
    assert_eq!(stamp, Some(SecurityStamp::new(2)));
    let after_promotion = stored().await;
    assert_eq!(
        (
            after_promotion.security_stamp,
            after_promotion.revoked_below
        ),
        (SecurityStamp::new(2), SecurityStamp::new(1)),
        "a password change revokes; a role change moves only the stamp"
    );
    let deactivated = AccessFields {
        is_active: false,
        ..promoted.clone()
    };
    let stamp = repo
        .update_access(
            jane.id,
            &deactivated,
            SecurityStamp::new(2),
            later(&jane, 6),
        )
        .await
        .unwrap();
    assert_eq!(stamp, Some(SecurityStamp::new(3)));
    let bumped = repo
        .bump_security_stamp(jane.id, later(&jane, 7))
        .await
        .unwrap();
    assert_eq!(bumped, Some(SecurityStamp::new(4)));
    let last = stored().await;
    assert_eq!(
        last,
        User {
            password_hash: hash,
            role: Role::Admin,
            permissions: promoted.permissions.clone(),
            is_active: false,
            security_stamp: SecurityStamp::new(4),
            revoked_below: SecurityStamp::new(4),
            updated_at: later(&jane, 7),
            credits: 50,
            ..after_profile
        }
    );
}

/// Security writes are compare-and-set: on a stale stamp or hash nothing is written. A
/// deactivated account takes no profile, avatar, verification or password writes; an
/// unknown one takes nothing.
async fn security_writes_compare_and_set(repo: Repo) {
    let jane = user("jane@example.com", "jane");
    repo.insert(&jane).await.unwrap();
    let now = later(&jane, 1);
    let access = AccessFields::of(&jane);
    let first = PasswordHash::new("$2b$04$first-replacement-hash-x".into());
    assert!(
        repo.set_password(jane.id, &first, Some(&jane.password_hash), now)
            .await
            .unwrap()
            .is_some()
    );
    // A second change that checked the original password loses.
    let stale = PasswordHash::new("$2b$04$stale-replacement-hash-x".into());
    assert_eq!(
        repo.set_password(jane.id, &stale, Some(&jane.password_hash), now)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        repo.update_access(jane.id, &access, SecurityStamp::INITIAL, now)
            .await
            .unwrap(),
        None,
        "the stamp moved with the password"
    );
    let stored = repo.find_by_id(jane.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, first);
    assert_eq!(stored.security_stamp, SecurityStamp::new(1));

    let inactive = AccessFields {
        is_active: false,
        ..access
    };
    repo.update_access(jane.id, &inactive, SecurityStamp::new(1), now)
        .await
        .unwrap()
        .unwrap();
    let profile = ProfileChanges {
        last_name: Some("Doe".into()),
        ..ProfileChanges::default()
    };
    assert!(!repo.update_profile(jane.id, &profile, now).await.unwrap());
    assert!(!repo.set_avatar_url(jane.id, "x", now).await.unwrap());
    assert!(!repo.mark_verified(jane.id, now).await.unwrap());
    assert_eq!(
        repo.set_password(jane.id, &stale, None, now).await.unwrap(),
        None
    );

    let ghost = UserId::generate();
    assert!(!repo.update_profile(ghost, &profile, now).await.unwrap());
    assert_eq!(repo.bump_security_stamp(ghost, now).await.unwrap(), None);
    assert_eq!(
        repo.update_access(ghost, &inactive, SecurityStamp::INITIAL, now)
            .await
            .unwrap(),
        None
    );
}

/// `ms` milliseconds into a fixed second, and one microsecond: SQLite compares the stored
/// RFC 3339 text, which is exact only between fractions of one length, so every instant here
/// has six digits of them.
fn instant(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
        + time::Duration::milliseconds(ms)
        + time::Duration::microseconds(1)
}

/// The emails of the first page of users matching `filter`, sorted.
async fn emails_matching(repo: &Repo, filter: UserFilter) -> Vec<String> {
    let request = PageRequest {
        from: None,
        limit: 100,
    };
    let mut emails: Vec<String> = repo
        .page(&filter, &request)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email.as_str().to_owned())
        .collect();
    emails.sort();
    emails
}

fn searching(text: &str) -> UserFilter {
    UserFilter {
        search: Some(text.into()),
        ..UserFilter::default()
    }
}

/// The search finds a piece of the email or of the username, whatever its case.
async fn search_matches_email_or_username_ignoring_case(repo: Repo) {
    repo.insert_many(&[
        user("ada.lovelace@example.com", "countess"),
        user("bob@analytics.io", "Bobby_Tables"),
        user("carol@example.org", "LOVE_bird"),
    ])
    .await
    .unwrap();
    assert_eq!(
        emails_matching(&repo, searching("LoVe")).await,
        ["ada.lovelace@example.com", "carol@example.org"],
        "the email of one, the username of the other"
    );
    assert_eq!(
        emails_matching(&repo, searching("tABLES")).await,
        ["bob@analytics.io"]
    );
    assert_eq!(
        emails_matching(&repo, searching("@example.")).await,
        ["ada.lovelace@example.com", "carol@example.org"]
    );
    assert!(emails_matching(&repo, searching("dave")).await.is_empty());
    assert_eq!(
        emails_matching(&repo, searching("")).await.len(),
        3,
        "nothing to find matches everyone"
    );
}

/// `%`, `_` and `\` in the search are the characters themselves, not LIKE's wildcards.
async fn search_takes_pattern_characters_literally(repo: Repo) {
    repo.insert_many(&[
        user("a_b@example.com", "underscore"),
        user("axb@example.com", "lookalike"),
        user("50%off@example.com", "percent"),
        user("back\\slash@example.com", "backslash"),
    ])
    .await
    .unwrap();
    assert_eq!(
        emails_matching(&repo, searching("a_b")).await,
        ["a_b@example.com"]
    );
    assert_eq!(
        emails_matching(&repo, searching("%")).await,
        ["50%off@example.com"]
    );
    assert_eq!(
        emails_matching(&repo, searching("0%O")).await,
        ["50%off@example.com"]
    );
    assert_eq!(
        emails_matching(&repo, searching("\\")).await,
        ["back\\slash@example.com"]
    );
    assert!(
        emails_matching(&repo, searching("a%b")).await.is_empty(),
        "no address holds a%b"
    );
}

/// Role, active and verified filters each narrow the list, and together every one must hold.
async fn role_active_and_verified_filters_combine(repo: Repo) {
    let account = |name: &str, role: Role, active: bool, verified: bool| {
        let mut u = user(&format!("{name}@example.com"), name);
        u.role = role;
        u.is_active = active;
        u.is_verified = verified;
        u
    };
    repo.insert_many(&[
        account("root", Role::Admin, true, true),
        account("retired", Role::Admin, false, true),
        account("fresh", Role::Admin, true, false),
        account("ada", Role::User, true, true),
        account("newbie", Role::User, true, false),
        account("gone", Role::User, false, false),
    ])
    .await
    .unwrap();
    let admins = UserFilter {
        role: Some(Role::Admin),
        ..UserFilter::default()
    };
    assert_eq!(
        emails_matching(&repo, admins.clone()).await,
        [
            "fresh@example.com",
            "retired@example.com",
            "root@example.com"
        ]
    );
    let active_admins = UserFilter {
        is_active: Some(true),
        ..admins.clone()
    };
    assert_eq!(
        emails_matching(&repo, active_admins.clone()).await,
        ["fresh@example.com", "root@example.com"]
    );
    let verified_active_admins = UserFilter {
        is_verified: Some(true),
        ..active_admins
    };
    assert_eq!(
        emails_matching(&repo, verified_active_admins).await,
        ["root@example.com"]
    );
    let unverified_users = UserFilter {
        role: Some(Role::User),
        is_verified: Some(false),
        ..UserFilter::default()
    };
    assert_eq!(
        emails_matching(&repo, unverified_users.clone()).await,
        ["gone@example.com", "newbie@example.com"]
    );
    let deactivated = UserFilter {
        is_active: Some(false),
        ..UserFilter::default()
    };
    assert_eq!(
        emails_matching(&repo, deactivated).await,
        ["gone@example.com", "retired@example.com"]
    );
    let searched = UserFilter {
        search: Some("NEW".into()),
        ..unverified_users
    };
    assert_eq!(
        emails_matching(&repo, searched).await,
        ["newbie@example.com"]
    );
    let nobody = UserFilter {
        search: Some("root".into()),
        is_active: Some(false),
        ..UserFilter::default()
    };
    assert!(emails_matching(&repo, nobody).await.is_empty());
}

/// Walking a filtered list page by page, both ways, visits every match once, in keyset
/// order, and nothing else.
async fn filtered_pages_walk_every_match_once(repo: Repo) {
    let mut users = Vec::new();
    for n in 0..11i64 {
        let mut u = user(&format!("f{n}@example.com"), &format!("filtered{n}"));
        // Pairs share an instant, so the id decides between them.
        u.created_at = instant(n / 2);
        u.is_verified = n % 3 != 0;
        users.push(u);
    }
    repo.insert_many(&users).await.unwrap();
    users.retain(|u| u.is_verified);
    users.sort_by_key(|u| std::cmp::Reverse((u.created_at, u.id)));
    let expected: Vec<UserId> = users.iter().map(|u| u.id).collect();
    assert_eq!(expected.len(), 7);
    let verified = UserFilter {
        is_verified: Some(true),
        ..UserFilter::default()
    };
    let position = |u: &User| Keyset {
        created_at: u.created_at,
        id: u.id.as_uuid(),
    };

    let mut walked = Vec::new();
    let mut from = None;
    loop {
        let request = PageRequest { from, limit: 2 };
        let rows = repo.page(&verified, &request).await.unwrap();
        let more = rows.len() > 2;
        let page: Vec<User> = rows.into_iter().take(2).collect();
        walked.extend(page.iter().map(|u| u.id));
        let Some(last) = page.last().filter(|_| more) else {
            break;
        };
        from = Some((Direction::Older, position(last)));
    }
    assert_eq!(walked, expected);

    // Back up from the oldest match: the next two newer matches, oldest first, and one more.
    let back = PageRequest {
        from: Some((Direction::Newer, position(&users[6]))),
        limit: 2,
    };
    let newer: Vec<UserId> = repo
        .page(&verified, &back)
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(newer, [expected[5], expected[4], expected[3]]);
}

/// Every account counts, deactivated ones too; `created_since` is inclusive.
async fn counts_every_account_and_those_created_since(repo: Repo) {
    assert_eq!(repo.count(None).await.unwrap(), 0);
    let mut users = Vec::new();
    for n in 0..4i64 {
        let mut u = user(&format!("c{n}@example.com"), &format!("counted{n}"));
        u.created_at = instant(n * 1_000);
        users.push(u);
    }
    users[3].is_active = false;
    repo.insert_many(&users).await.unwrap();
    let just_after = |ms| instant(ms) + time::Duration::microseconds(2);
    assert_eq!(repo.count(None).await.unwrap(), 4);
    assert_eq!(repo.count(Some(instant(0))).await.unwrap(), 4);
    assert_eq!(repo.count(Some(instant(2_000))).await.unwrap(), 2);
    assert_eq!(repo.count(Some(just_after(2_000))).await.unwrap(), 1);
    assert_eq!(repo.count(Some(just_after(3_000))).await.unwrap(), 0);
}

/// An imported hash is replaced only while it is still the stored one, and nothing else
/// moves: not the stamp, not the floor, not `updated_at`.
async fn a_password_hash_upgrade_is_conditional_and_moves_nothing_else(repo: Repo) {
    let mut jane = user("jane@example.com", "jane");
    jane.password_hash = PasswordHash::new("pbkdf2_sha256$1000$salt$AAAA".into());
    repo.insert(&jane).await.unwrap();
    let bcrypt = PasswordHash::new("$2b$04$upgradedupgradedupgradeu".into());
    let wrong = PasswordHash::new("pbkdf2_sha256$1000$salt$BBBB".into());
    assert!(
        !repo
            .upgrade_password_hash(jane.id, &bcrypt, &wrong)
            .await
            .unwrap(),
        "not while another hash is stored"
    );
    assert!(
        repo.upgrade_password_hash(jane.id, &bcrypt, &jane.password_hash)
            .await
            .unwrap()
    );
    assert_eq!(
        repo.find_by_id(jane.id).await.unwrap().unwrap(),
        User {
            password_hash: bcrypt.clone(),
            ..jane.clone()
        }
    );
    assert!(
        !repo
            .upgrade_password_hash(jane.id, &bcrypt, &jane.password_hash)
            .await
            .unwrap(),
        "once"
    );
    assert!(
        !repo
            .upgrade_password_hash(UserId::generate(), &bcrypt, &jane.password_hash)
            .await
            .unwrap()
    );
}

/// An import batch is all or nothing: the accounts it creates are remembered by source id,
/// an update applies only to the account as the import read it (stamp and hash), and one
/// write that does not hold leaves the whole batch unwritten.
async fn an_import_batch_is_all_or_nothing_and_remembers_its_accounts(repo: Repo) {
    let ada = user("ada@example.com", "ada");
    let bob = user("bob@example.com", "bob");
    let at = later(&ada, 1);
    repo.import(
        &[
            ImportWrite::Insert {
                user: ada.clone(),
                source_id: 7,
            },
            ImportWrite::Insert {
                user: bob.clone(),
                source_id: 9,
            },
        ],
        at,
    )
    .await
    .unwrap();
    let mut found = repo.imported(&[7, 8, 9]).await.unwrap();
    found.sort_by_key(|(id, _)| *id);
    assert_eq!(found, vec![(7, ada.clone()), (9, bob.clone())]);
    assert!(repo.imported(&[]).await.unwrap().is_empty());

    // Deactivate ada (taking access away) and change bob's name, in one batch.
    let mut ada_off = ada.clone();
    ada_off.is_active = false;
    let mut bob_named = bob.clone();
    bob_named.first_name = "Robert".into();
    let deactivate = ImportWrite::Update {
        user: ada_off.clone(),
        expected: ada.security_stamp,
        expected_hash: ada.password_hash.clone(),
        access_changed: true,
        revokes: true,
    };
    let stale = ImportWrite::Update {
        user: bob_named.clone(),
        expected: bob.security_stamp,
        expected_hash: PasswordHash::new("pbkdf2_sha256$1$s$not-what-is-stored".into()),
        access_changed: false,
        revokes: false,
    };
    assert!(
        repo.import(&[deactivate.clone(), stale], later(&ada, 2))
            .await
            .is_err(),
        "a write that does not hold fails the batch"
    );
    assert_eq!(
        repo.find_by_id(ada.id).await.unwrap().unwrap(),
        ada,
        "and nothing of it was written"
    );
    let named = ImportWrite::Update {
        user: bob_named.clone(),
        expected: bob.security_stamp,
        expected_hash: bob.password_hash.clone(),
        access_changed: false,
        revokes: false,
    };
    repo.import(&[deactivate, named], later(&ada, 3))
        .await
        .unwrap();
    let ada_now = repo.find_by_id(ada.id).await.unwrap().unwrap();
    assert!(!ada_now.is_active);
    assert!(ada_now.security_stamp > ada.security_stamp);
    assert_eq!(
        ada_now.revoked_below, ada_now.security_stamp,
        "credentials end"
    );
    let bob_now = repo.find_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(bob_now.first_name, "Robert");
    assert_eq!(
        bob_now.security_stamp, bob.security_stamp,
        "a name moves no stamp"
    );
    // A source id is remembered once: importing it again as new fails.
    let again = ImportWrite::Insert {
        user: user("other@example.com", "other"),
        source_id: 7,
    };
    assert!(repo.import(&[again], at).await.is_err());
}

/// An admin's verification edit applies to a deactivated account too, either way, and moves
/// only the flag and `updated_at`.
async fn set_verified_works_both_ways_on_an_inactive_user(repo: Repo) {
    let jane = user("jane@example.com", "jane");
    repo.insert(&jane).await.unwrap();
    let inactive = AccessFields {
        is_active: false,
        ..AccessFields::of(&jane)
    };
    repo.update_access(jane.id, &inactive, SecurityStamp::INITIAL, later(&jane, 1))
        .await
        .unwrap()
        .unwrap();
    let before = repo.find_by_id(jane.id).await.unwrap().unwrap();
    assert!(!before.is_active && !before.is_verified);

    assert!(
        repo.set_verified(jane.id, true, later(&jane, 2))
            .await
            .unwrap()
    );
    assert_eq!(
        repo.find_by_id(jane.id).await.unwrap().unwrap(),
        User {
            is_verified: true,
            updated_at: later(&jane, 2),
            ..before.clone()
        }
    );
    assert!(
        repo.set_verified(jane.id, false, later(&jane, 3))
            .await
            .unwrap()
    );
    assert_eq!(
        repo.find_by_id(jane.id).await.unwrap().unwrap(),
        User {
            is_verified: false,
            updated_at: later(&jane, 3),
            ..before
        }
    );
    assert!(
        !repo
            .set_verified(UserId::generate(), true, later(&jane, 4))
            .await
            .unwrap()
    );
}

async fn postgres() -> Option<(Repo, gatehouse_testing::TestDatabase)> {
    let test_db = gatehouse_testing::postgres().await?;
    let db = database::open(&test_db.url, 8, true).await.unwrap();
    Some((std::sync::Arc::new(SeaOrmUserRepository::new(db)), test_db))
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod in_memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                super::$case(std::sync::Arc::new(super::InMemoryUserRepository::new())).await;
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
    finds_by_email_and_by_username_ignoring_case,
    unknown_users_are_none,
    duplicate_email_is_refused,
    duplicate_username_ignoring_case_is_refused,
    concurrent_registrations_of_one_email_admit_one,
    pages_walk_both_ways_in_keyset_order,
    each_write_touches_only_its_own_fields,
    security_writes_compare_and_set,
    search_matches_email_or_username_ignoring_case,
    search_takes_pattern_characters_literally,
    role_active_and_verified_filters_combine,
    filtered_pages_walk_every_match_once,
    counts_every_account_and_those_created_since,
    set_verified_works_both_ways_on_an_inactive_user,
    a_password_hash_upgrade_is_conditional_and_moves_nothing_else,
    an_import_batch_is_all_or_nothing_and_remembers_its_accounts,
);
