use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::ports::{InsertUserError, UserRepository};
use gatehouse_domain::{Email, PasswordHash, Permission, User, UserId, Username};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, QueryFilter, SqlErr};

use super::user_entity::{ActiveModel, Column, Entity, Model};

/// [`UserRepository`] on sea-orm (PostgreSQL or SQLite).
#[derive(Clone)]
pub struct SeaOrmUserRepository {
    db: DatabaseConnection,
}

impl SeaOrmUserRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn find_one(&self, condition: Expr) -> anyhow::Result<Option<User>> {
        let row = Entity::find()
            .filter(condition)
            .one(&self.db)
            .await
            .context("user query failed")?;
        row.map(to_domain).transpose()
    }
}

#[async_trait]
impl UserRepository for SeaOrmUserRepository {
    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        let result = Entity::insert(to_active(user))
            .exec_without_returning(&self.db)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.sql_err() {
                // The message names the violated index on both backends.
                Some(SqlErr::UniqueConstraintViolation(message))
                    if message.contains("username") =>
                {
                    Err(InsertUserError::UsernameTaken)
                }
                Some(SqlErr::UniqueConstraintViolation(_)) => Err(InsertUserError::EmailTaken),
                _ => Err(InsertUserError::Unavailable(
                    anyhow::Error::new(error).context("user insert failed"),
                )),
            },
        }
    }

    async fn find_by_id(&self, id: UserId) -> anyhow::Result<Option<User>> {
        let row = Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await
            .context("user query failed")?;
        row.map(to_domain).transpose()
    }

    async fn find_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        self.find_one(Expr::col(Column::Email).eq(email.as_str()))
            .await
    }

    async fn find_by_username(&self, username: &Username) -> anyhow::Result<Option<User>> {
        let lowered = Expr::expr(Func::lower(Expr::col(Column::Username)));
        self.find_one(lowered.eq(username.normalized())).await
    }
}

fn to_active(user: &User) -> ActiveModel {
    let permissions: Vec<&str> = user.permissions.iter().map(Permission::as_str).collect();
    ActiveModel {
        id: Set(user.id.as_uuid()),
        email: Set(user.email.as_str().to_owned()),
        username: Set(user.username.as_str().to_owned()),
        password_hash: Set(user.password_hash.as_str().to_owned()),
        first_name: Set(user.first_name.clone()),
        last_name: Set(user.last_name.clone()),
        role: Set(user.role.as_str().to_owned()),
        permissions: Set(permissions.join(",")),
        is_active: Set(user.is_active),
        is_verified: Set(user.is_verified),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
    }
}

/// Rows were valid when written; a row that no longer parses is corruption, reported as an
/// error rather than papered over.
fn to_domain(row: Model) -> anyhow::Result<User> {
    let permissions = row
        .permissions
        .split(',')
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("stored permissions are invalid")?;
    Ok(User {
        id: UserId::from_uuid(row.id),
        email: Email::parse(&row.email).context("stored email is invalid")?,
        username: Username::parse(&row.username).context("stored username is invalid")?,
        password_hash: PasswordHash::new(row.password_hash),
        first_name: row.first_name,
        last_name: row.last_name,
        role: row.role.parse().context("stored role is invalid")?,
        permissions,
        is_active: row.is_active,
        is_verified: row.is_verified,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
