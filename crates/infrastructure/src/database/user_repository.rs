use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{InsertUserError, UserRepository};
use gatehouse_domain::{
    Email, NotificationPreferences, PasswordHash, Permission, PhoneNumber, User, UserId, Username,
};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, SqlErr};

use super::keyset;

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
        Entity::insert(to_active(user))
            .exec_without_returning(&self.db)
            .await
            .map(drop)
            .map_err(insert_error)
    }

    async fn insert_many(&self, users: &[User]) -> Result<(), InsertUserError> {
        if users.is_empty() {
            return Ok(());
        }
        Entity::insert_many(users.iter().map(to_active))
            .exec_without_returning(&self.db)
            .await
            .map(drop)
            .map_err(insert_error)
    }

    async fn update(&self, user: &User) -> anyhow::Result<bool> {
        let mut row = to_active(user);
        // The balance belongs to the credit ledger, which moves it atomically.
        row.credits = NotSet;
        let result = Entity::update_many()
            .set(row)
            .filter(Column::Id.eq(user.id.as_uuid()))
            .exec(&self.db)
            .await
            .context("user update failed")?;
        Ok(result.rows_affected == 1)
    }

    async fn page(&self, request: &PageRequest) -> anyhow::Result<Vec<User>> {
        let rows = keyset::page(Entity::find(), Column::CreatedAt, Column::Id, request)
            .all(&self.db)
            .await
            .context("user page query failed")?;
        rows.into_iter().map(to_domain).collect()
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

fn insert_error(error: DbErr) -> InsertUserError {
    match error.sql_err() {
        // The message names the violated index on both backends.
        Some(SqlErr::UniqueConstraintViolation(message)) if message.contains("username") => {
            InsertUserError::UsernameTaken
        }
        Some(SqlErr::UniqueConstraintViolation(_)) => InsertUserError::EmailTaken,
        _ => InsertUserError::Unavailable(anyhow::Error::new(error).context("user insert failed")),
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
        phone_number: Set(user.phone_number.as_ref().map(|p| p.as_str().to_owned())),
        birth_date: Set(user.birth_date),
        security_emails: Set(user.notifications.security_emails),
        product_emails: Set(user.notifications.product_emails),
        avatar_url: Set(user.avatar_url.clone()),
        credits: Set(user.credits),
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
        phone_number: row
            .phone_number
            .as_deref()
            .map(PhoneNumber::parse)
            .transpose()
            .context("stored phone number is invalid")?,
        birth_date: row.birth_date,
        notifications: NotificationPreferences {
            security_emails: row.security_emails,
            product_emails: row.product_emails,
        },
        avatar_url: row.avatar_url,
        credits: row.credits,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
