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
