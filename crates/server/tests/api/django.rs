//! Accounts carried over from Django keep their passwords: a Django hash signs in, and is
//! replaced by Gatehouse's own on that first sign-in; an unusable one never signs in.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{TestApp, token};

/// `lètmein` under Django's PBKDF2-SHA256 (1000 iterations, salt `seasalt`).
const DJANGO_PBKDF2: &str =
    "pbkdf2_sha256$1000$seasalt$JgZryXe2Ga8ysg6XbzkLpTdyPQrHqsinbL9BnnhgX4A=";
/// `lètmein` under Django's Argon2id.
const DJANGO_ARGON2: &str = "argon2$argon2id$v=19$m=64,t=1,p=2$c2Vhc2FsdHNlYXNhbHQ$HpcgIWI2L0SaEdRQZTHxoP0m4aIJJ/08Ovpq2e2CCOA";

async fn stored_hash(app: &TestApp, email: &str) -> String {
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    "SELECT password_hash FROM users WHERE email = $1"
                }
                _ => "SELECT password_hash FROM users WHERE email = ?",
            },
            [email.into()],
        ))
        .await
        .unwrap()
        .expect("the user");
    row.try_get("", "password_hash").unwrap()
}

async fn set_hash(app: &TestApp, email: &str, hash: &str) {
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let backend = db.get_database_backend();
    let sql = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "UPDATE users SET password_hash = $1 WHERE email = $2"
        }
        _ => "UPDATE users SET password_hash = ? WHERE email = ?",
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [hash.into(), email.into()],
    ))
    .await
    .unwrap();
}

async fn a_django_hash_signs_in_once_and_is_replaced(app: TestApp) {
    for (n, django) in [DJANGO_PBKDF2, DJANGO_ARGON2].into_iter().enumerate() {
        let name = format!("dj{n}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let email = format!("{name}@example.com");
        app.signed_up_user(&name).await;
        set_hash(&app, &email, django).await;
        assert_eq!(
            app.login(&email, "letmein").await.status(),
            StatusCode::UNAUTHORIZED,
            "a wrong password"
        );
        assert_eq!(stored_hash(&app, &email).await, django, "nothing upgraded");
        let login = app.login(&email, "lètmein").await;
        assert_eq!(login.status(), StatusCode::OK, "{django}");
        let body: serde_json::Value = login.json().await.unwrap();
        let upgraded = stored_hash(&app, &email).await;
        assert!(upgraded.starts_with("$2b$"), "{upgraded}");
        // The upgrade moved no stamp: the tokens of that sign-in work.
        assert_eq!(
            app.me(&token(&body, "access_token")).await.status(),
            StatusCode::OK
        );
        assert_eq!(app.login(&email, "lètmein").await.status(), StatusCode::OK);
        assert_eq!(stored_hash(&app, &email).await, upgraded, "upgraded once");
    }
}

async fn an_unusable_django_password_never_signs_in(app: TestApp) {
    let name = format!("un{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let email = format!("{name}@example.com");
    app.signed_up_user(&name).await;
    for unusable in ["!", "!Zq2VNv4ExTkfaWH8oj5eB3s7M0Y1iLrPgxduSRcK"] {
        set_hash(&app, &email, unusable).await;
        for attempt in ["", "!", unusable] {
            let refused = app.login(&email, attempt).await;
            assert!(
                refused.status().is_client_error(),
                "{unusable:?} / {attempt:?}: {}",
                refused.status()
            );
            assert_ne!(refused.status(), StatusCode::OK);
        }
        assert_eq!(stored_hash(&app, &email).await, unusable);
    }
}

crate::on_every_backend!(
    a_django_hash_signs_in_once_and_is_replaced,
    an_unusable_django_password_never_signs_in,
);

/// `not a password` under Django 1.4's PBKDF2-SHA256.
const DJANGO_OTHER: &str =
    "pbkdf2_sha256$10000$kjVJaVz6qsnJ$5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs=";

/// A Django project's database, as `migrate` leaves it (the tables the importer reads).
async fn django_database(url: &str) -> sea_orm::DatabaseConnection {
    let db = sea_orm::Database::connect(url).await.unwrap();
    for sql in [
        "CREATE TABLE django_content_type (id integer PRIMARY KEY AUTOINCREMENT, app_label varchar(100) NOT NULL, model varchar(100) NOT NULL)",
        "CREATE TABLE auth_permission (id integer PRIMARY KEY AUTOINCREMENT, name varchar(255) NOT NULL, content_type_id integer NOT NULL, codename varchar(100) NOT NULL)",
        "CREATE TABLE auth_group (id integer PRIMARY KEY AUTOINCREMENT, name varchar(150) NOT NULL UNIQUE)",
        "CREATE TABLE auth_group_permissions (id integer PRIMARY KEY AUTOINCREMENT, group_id integer NOT NULL, permission_id integer NOT NULL)",
        "CREATE TABLE auth_user (id integer PRIMARY KEY AUTOINCREMENT, password varchar(128) NOT NULL, last_login datetime NULL, is_superuser bool NOT NULL, username varchar(150) NOT NULL UNIQUE, last_name varchar(150) NOT NULL, email varchar(254) NOT NULL, is_staff bool NOT NULL, is_active bool NOT NULL, date_joined datetime NOT NULL, first_name varchar(150) NOT NULL)",
        "CREATE TABLE auth_user_groups (id integer PRIMARY KEY AUTOINCREMENT, user_id integer NOT NULL, group_id integer NOT NULL)",
        "CREATE TABLE auth_user_user_permissions (id integer PRIMARY KEY AUTOINCREMENT, user_id integer NOT NULL, permission_id integer NOT NULL)",
        "INSERT INTO django_content_type (id, app_label, model) VALUES (1, 'accounts', 'user')",
        "INSERT INTO auth_permission (id, name, content_type_id, codename) VALUES (1, 'Can view users', 1, 'can_view_users'), (2, 'Can add log entry', 1, 'add_logentry')",
        "INSERT INTO auth_group (id, name) VALUES (1, 'support')",
        "INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (1, 1), (1, 2)",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
    let users = [
        (
            1,
            DJANGO_PBKDF2,
            1,
            "alice",
            "Alice",
            "alice@example.com",
            1,
            1,
        ),
        (2, DJANGO_ARGON2, 0, "bob", "", "Bob@Example.com", 0, 1),
        (
            3,
            "!Zq2VNv4ExTkfaWH8oj5eB3s7M0Y1iLrPgxduSRcK",
            0,
            "carol",
            "",
            "carol@example.com",
            0,
            0,
        ),
        (4, DJANGO_OTHER, 0, "bob2", "", "bob@example.com", 0, 1),
        (5, DJANGO_OTHER, 0, "nobody", "", "not an address", 0, 1),
    ];
    for (id, hash, superuser, username, first, email, staff, active) in users {
        let sql = format!(
            "INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name) \
             VALUES ({id}, '{hash}', NULL, {superuser}, '{username}', '', '{email}', {staff}, {active}, '2021-03-04 05:06:07.123456', '{first}')"
        );
        db.execute_unprepared(&sql).await.unwrap();
    }
    db.execute_unprepared("INSERT INTO auth_user_groups (user_id, group_id) VALUES (2, 1)")
        .await
        .unwrap();
    db
}

fn import(gatehouse_db: &str, django_db: &str, dry_run: bool) -> String {
    let mut args = vec!["import-django", "--from", django_db];
    if dry_run {
        args.push("--dry-run");
    }
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(&args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GATEHOUSE_DATABASE_URL", gatehouse_db)
        .env("GATEHOUSE_BCRYPT_COST", "4")
        .env("GATEHOUSE_MASTER_KEY", crate::helpers::MASTER_KEY)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The guide's path: point the importer at the Django database, run it (again: nothing is
/// duplicated), and the Django users sign in with their Django passwords.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_django_database_is_imported_and_its_users_sign_in() {
    let django_file = gatehouse_testing::TempSqlite::new();
    let django = django_database(&django_file.url()).await;
    // The guide's form of the URL: the file, nothing more.
    let from = django_file.url().replace("?mode=rwc", "");
    let gatehouse_file = gatehouse_testing::TempSqlite::new();
    let gatehouse_url = gatehouse_file.url();

    let dry = import(&gatehouse_url, &from, true);
    assert!(dry.contains("dry run: nothing was written"), "{dry}");
    assert!(
        dry.trim_end()
            .ends_with("imported: 3, updated: 0, skipped: 2"),
        "{dry}"
    );
    let first = import(&gatehouse_url, &from, false);
    assert!(
        first
            .trim_end()
            .ends_with("imported: 3, updated: 0, skipped: 2"),
        "{first}"
    );
    assert!(
        first.contains("skipped bob@example.com: another account"),
        "{first}"
    );
    assert!(first.contains("skipped not an address:"), "{first}");
    let again = import(&gatehouse_url, &from, false);
    assert!(
        again
            .trim_end()
            .ends_with("imported: 0, updated: 3, skipped: 2"),
        "{again}"
    );

    let app = TestApp::embedded_with(&[("GATEHOUSE_DATABASE_URL", gatehouse_url.as_str())]).await;
    let alice = app.login("alice@example.com", "lètmein").await;
    assert_eq!(alice.status(), StatusCode::OK);
    let alice: serde_json::Value = alice.json().await.unwrap();
    assert_eq!(
        alice["user"]["role"], "admin",
        "superuser and staff are admins"
    );
    assert_eq!(alice["user"]["first_name"], "Alice");
    assert!(
        alice["user"]["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2021-03-04T05:06:07"),
        "date_joined kept: {alice}"
    );
    let bob = app.login("bob@example.com", "lètmein").await;
    assert_eq!(bob.status(), StatusCode::OK);
    let bob: serde_json::Value = bob.json().await.unwrap();
    assert_eq!(bob["user"]["role"], "user");
    assert_eq!(
        bob["user"]["permissions"],
        serde_json::json!(["can_view_users"]),
        "through the group; codenames Gatehouse does not know are left behind"
    );
    assert_ne!(
        app.login("carol@example.com", "").await.status(),
        StatusCode::OK
    );

    // Someone signs up here with the address of a Django admin the import has not made
    // yet: the import leaves that account alone (an email proves nothing).
    assert_eq!(
        app.register("dora@example.com", "squatter").await.status(),
        StatusCode::CREATED
    );
    // The source changes both passwords. Alice signed in here (her hash is Gatehouse's
    // now): hers stays. Dora, an admin there, is new.
    for sql in [
        format!("UPDATE auth_user SET password = '{DJANGO_OTHER}' WHERE id IN (1, 2)"),
        format!(
            "INSERT INTO auth_user (id, password, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name) \
             VALUES (6, '{DJANGO_OTHER}', 1, 'dora', '', 'dora@example.com', 1, 1, '2022-01-01 00:00:00', '')"
        ),
    ] {
        django.execute_unprepared(&sql).await.unwrap();
    }
    let third = import(&gatehouse_url, &from, false);
    assert!(
        third
            .trim_end()
            .ends_with("imported: 0, updated: 3, skipped: 3"),
        "{third}"
    );
    assert!(
        third.contains(
            "skipped dora@example.com: a Gatehouse account that this import did not create"
        ),
        "{third}"
    );
    assert_eq!(
        app.login("alice@example.com", "lètmein").await.status(),
        StatusCode::OK
    );
    assert_ne!(
        app.login("dora@example.com", "not a password")
            .await
            .status(),
        StatusCode::OK,
        "the Django password opens nothing"
    );
    let squatter = app
        .login("dora@example.com", crate::helpers::PASSWORD)
        .await;
    let squatter: serde_json::Value = squatter.json().await.unwrap();
    assert_eq!(
        squatter["user"]["role"], "user",
        "and makes nobody an admin"
    );
}
