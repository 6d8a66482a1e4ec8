//! Accounts carried over from Django keep their passwords: a Django hash signs in, and is
//! replaced by Gatehouse's own on that first sign-in; an unusable one never signs in. The
//! hashes were written by Django's own hashers, and the Django databases are made by the SQL
//! Django's migrations run (both in `gatehouse-infrastructure`'s `tests/fixtures/django/`,
//! from `scripts/django-fixtures/make_fixtures.py`).

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{TestApp, token};

const HASHES: &str = include_str!("../../../infrastructure/tests/fixtures/django/hashes.json");

/// Every hasher Django 5.2 verifies, as the fixture names them (argon2 by type).
const VARIANTS: [&str; 8] = [
    "pbkdf2_sha256",
    "pbkdf2_sha1",
    "bcrypt_sha256",
    "bcrypt",
    "argon2id",
    "argon2i",
    "scrypt",
    "md5",
];

/// The password Django hashed for most fixtures; the other is for the ones a test changes to.
const LETMEIN: &str = "lètmein";
const OTHER: &str = "correct horse battery staple";

/// A hash of `password` that Django's `variant` hasher wrote, at the fixture's low cost
/// when there is one: Django's own costs are seconds in an unoptimised build.
fn django_hash(variant: &str, password: &str) -> String {
    let fixture: serde_json::Value = serde_json::from_str(HASHES).unwrap();
    let entries = fixture["entries"].as_array().unwrap();
    let matching = |cost: &str| {
        entries.iter().find(|entry| {
            entry["variant"] == variant && entry["password"] == password && entry["cost"] == cost
        })
    };
    let entry = matching("low")
        .or_else(|| matching("default"))
        .unwrap_or_else(|| panic!("no {variant} hash of {password:?} in the fixture"));
    entry["hash"].as_str().unwrap().to_owned()
}

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
    for (n, variant) in VARIANTS.into_iter().enumerate() {
        let django = &django_hash(variant, LETMEIN);
        let name = format!("dj{n}{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let email = format!("{name}@example.com");
        app.signed_up_user(&name).await;
        set_hash(&app, &email, django).await;
        assert_eq!(
            app.login(&email, "letmein").await.status(),
            StatusCode::UNAUTHORIZED,
            "a wrong password"
        );
        assert_eq!(&stored_hash(&app, &email).await, django, "nothing upgraded");
        let login = app.login(&email, LETMEIN).await;
        assert_eq!(login.status(), StatusCode::OK, "{django}");
        let body: serde_json::Value = login.json().await.unwrap();
        let upgraded = stored_hash(&app, &email).await;
        assert!(upgraded.starts_with("$2b$"), "{upgraded}");
        // The upgrade moved no stamp: the tokens of that sign-in work.
        assert_eq!(
            app.me(&token(&body, "access_token")).await.status(),
            StatusCode::OK
        );
        assert_eq!(app.login(&email, LETMEIN).await.status(), StatusCode::OK);
        assert_eq!(stored_hash(&app, &email).await, upgraded, "upgraded once");
    }
}

/// What Django's `make_password(None)` wrote for the fixture.
fn django_unusable() -> String {
    let fixture: serde_json::Value = serde_json::from_str(HASHES).unwrap();
    let entry = fixture["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["variant"] == "unusable")
        .expect("an unusable password in the fixture");
    entry["hash"].as_str().unwrap().to_owned()
}

async fn an_unusable_django_password_never_signs_in(app: TestApp) {
    let name = format!("un{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let email = format!("{name}@example.com");
    app.signed_up_user(&name).await;
    let from_django = django_unusable();
    for unusable in ["!", from_django.as_str()] {
        set_hash(&app, &email, unusable).await;
        for attempt in ["", "!", unusable, &unusable[1..]] {
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

/// A Django project's database, as `migrate` leaves it: the tables of `contenttypes` and
/// `auth` made by the SQL their migrations run on this backend, with a group, permissions
/// and users.
struct DjangoProject {
    db: sea_orm::DatabaseConnection,
    /// The URL as the guide has the user give it.
    from: String,
    postgres: bool,
    _sqlite: Option<gatehouse_testing::TempSqlite>,
    _postgres: Option<gatehouse_testing::TestDatabase>,
}

impl DjangoProject {
    async fn sqlite() -> Self {
        let file = gatehouse_testing::TempSqlite::new();
        let db = sea_orm::Database::connect(file.url()).await.unwrap();
        // The guide's form of the URL: the file, nothing more.
        let from = file.url().replace("?mode=rwc", "");
        Self::set_up(db, from, false, Some(file), None).await
    }

    async fn postgres() -> Option<Self> {
        let database = gatehouse_testing::postgres().await?;
        let db = sea_orm::Database::connect(&database.url).await.unwrap();
        let from = database.url.clone();
        Some(Self::set_up(db, from, true, None, Some(database)).await)
    }

    async fn set_up(
        db: sea_orm::DatabaseConnection,
        from: String,
        postgres: bool,
        sqlite_file: Option<gatehouse_testing::TempSqlite>,
        postgres_database: Option<gatehouse_testing::TestDatabase>,
    ) -> Self {
        let migrations = if postgres {
            [
                include_str!(
                    "../../../infrastructure/tests/fixtures/django/postgresql/contenttypes.sql"
                ),
                include_str!("../../../infrastructure/tests/fixtures/django/postgresql/auth.sql"),
            ]
        } else {
            [
                include_str!(
                    "../../../infrastructure/tests/fixtures/django/sqlite/contenttypes.sql"
                ),
                include_str!("../../../infrastructure/tests/fixtures/django/sqlite/auth.sql"),
            ]
        };
        for sql in migrations {
            db.execute_unprepared(sql).await.unwrap();
        }
        let project = Self {
            db,
            from,
            postgres,
            _sqlite: sqlite_file,
            _postgres: postgres_database,
        };
        project.fill().await;
        project
    }

    /// A moment as Django stores it: PostgreSQL would read a bare literal in the session's
    /// time zone, and Django's SQLite text is UTC without an offset.
    fn utc(&self, moment: &str) -> String {
        if self.postgres {
            format!("{moment}+00")
        } else {
            moment.to_owned()
        }
    }

    async fn execute(&self, sql: &str) {
        self.db
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn fill(&self) {
        for sql in [
            "INSERT INTO django_content_type (id, app_label, model) VALUES (1, 'accounts', 'user')",
            "INSERT INTO auth_permission (id, name, content_type_id, codename) VALUES (1, 'Can view users', 1, 'can_view_users'), (2, 'Can add log entry', 1, 'add_logentry')",
            "INSERT INTO auth_group (id, name) VALUES (1, 'support')",
            "INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (1, 1), (1, 2)",
        ] {
            self.execute(sql).await;
        }
        let other = django_hash("pbkdf2_sha256", OTHER);
        let unusable = django_unusable();
        let users = [
            (
                1,
                django_hash("pbkdf2_sha256", LETMEIN),
                true,
                "alice",
                "Alice",
                "alice@example.com",
                true,
                true,
            ),
            (
                2,
                django_hash("argon2id", LETMEIN),
                false,
                "bob",
                "",
                "Bob@Example.com",
                false,
                true,
            ),
            (
                3,
                unusable,
                false,
                "carol",
                "",
                "carol@example.com",
                false,
                false,
            ),
            (
                4,
                other.clone(),
                false,
                "bob2",
                "",
                "bob@example.com",
                false,
                true,
            ),
            (5, other, false, "nobody", "", "not an address", false, true),
        ];
        let joined = self.utc("2021-03-04 05:06:07.123456");
        for (id, hash, superuser, username, first, email, staff, active) in users {
            self.execute(&format!(
                "INSERT INTO auth_user (id, password, last_login, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name) \
                 VALUES ({id}, '{hash}', NULL, {superuser}, '{username}', '', '{email}', {staff}, {active}, '{joined}', '{first}')"
            ))
            .await;
        }
        self.execute("INSERT INTO auth_user_groups (user_id, group_id) VALUES (2, 1)")
            .await;
    }
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
/// duplicated), and the Django users sign in with their Django passwords. `gatehouse_url`
/// is the database the import writes to and the app then serves from.
async fn a_django_database_is_imported_and_its_users_sign_in(
    django: DjangoProject,
    gatehouse_url: &str,
) {
    let from = django.from.as_str();
    let dry = import(gatehouse_url, from, true);
    assert!(dry.contains("dry run: nothing was written"), "{dry}");
    assert!(
        dry.trim_end()
            .ends_with("imported: 3, updated: 0, skipped: 2"),
        "{dry}"
    );
    let first = import(gatehouse_url, from, false);
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
    let again = import(gatehouse_url, from, false);
    assert!(
        again
            .trim_end()
            .ends_with("imported: 0, updated: 3, skipped: 2"),
        "{again}"
    );

    let app = TestApp::embedded_with(&[("GATEHOUSE_DATABASE_URL", gatehouse_url)]).await;
    let alice = app.login("alice@example.com", LETMEIN).await;
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
    let bob = app.login("bob@example.com", LETMEIN).await;
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
    let other = django_hash("pbkdf2_sha256", OTHER);
    let joined = django.utc("2022-01-01 00:00:00");
    django
        .execute(&format!(
            "UPDATE auth_user SET password = '{other}' WHERE id IN (1, 2)"
        ))
        .await;
    django
        .execute(&format!(
            "INSERT INTO auth_user (id, password, is_superuser, username, last_name, email, is_staff, is_active, date_joined, first_name) \
             VALUES (6, '{other}', true, 'dora', '', 'dora@example.com', true, true, '{joined}', '')"
        ))
        .await;
    let third = import(gatehouse_url, from, false);
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
        app.login("alice@example.com", LETMEIN).await.status(),
        StatusCode::OK
    );
    assert_ne!(
        app.login("dora@example.com", OTHER).await.status(),
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

mod on_sqlite {
    /// A Django project on SQLite, imported into Gatehouse on SQLite.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_django_database_is_imported_and_its_users_sign_in() {
        let django = super::DjangoProject::sqlite().await;
        let gatehouse = gatehouse_testing::TempSqlite::new();
        super::a_django_database_is_imported_and_its_users_sign_in(django, &gatehouse.url()).await;
    }
}

mod on_postgres {
    /// A Django project on PostgreSQL, imported into Gatehouse on PostgreSQL.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        gatehouse_no_postgres,
        ignore = "needs PostgreSQL: start it on 127.0.0.1:5432 or set GATEHOUSE_TEST_DATABASE_URL"
    )]
    async fn a_django_database_is_imported_and_its_users_sign_in() {
        let Some(django) = super::DjangoProject::postgres().await else {
            return;
        };
        let Some(gatehouse) = gatehouse_testing::postgres().await else {
            return;
        };
        super::a_django_database_is_imported_and_its_users_sign_in(django, &gatehouse.url).await;
    }
}
