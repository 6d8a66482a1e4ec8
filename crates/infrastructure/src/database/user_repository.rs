use anyhow::Context;
use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{
    AccessFields, ImportWrite, InsertUserError, ProfileChanges, UserFilter, UserRepository,
};
use gatehouse_domain::{
    Email, NotificationPreferences, PasswordHash, Permission, PhoneNumber, SecurityStamp, User,
    UserId, Username,
};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, Func, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    SqlErr, TransactionTrait, UpdateMany,
};
use time::OffsetDateTime;

use super::{keyset, like};

use super::entities::imported_account;
use super::entities::user::{ActiveModel, Column, Entity, Model};

/// [`UserRepository`] on sea-orm (PostgreSQL or SQLite). Every write is one `UPDATE` of the
/// columns its use case owns, conditioned on the row (active, or its stamp or hash as the
/// caller read it), so concurrent writes of other columns are never undone.
#[derive(Clone)]
pub struct SeaOrmUserRepository {
    db: DatabaseConnection,
}

impl SeaOrmUserRepository {
    /// A repository on this pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// `UPDATE users SET <sets>, updated_at = at WHERE id = id AND <conditions>`: whether a
    /// row matched.
    async fn write(
        &self,
        id: UserId,
        sets: Vec<(Column, SimpleExpr)>,
        at: OffsetDateTime,
        only_if: Vec<SimpleExpr>,
    ) -> anyhow::Result<bool> {
        let result = self
            .statement(id, sets, at, only_if)
            .exec(&self.db)
            .await
            .context("user update failed")?;
        Ok(result.rows_affected == 1)
    }

    /// Like [`Self::write`], moving the security stamp forward in the same statement (and,
    /// when the change `revokes`, the revocation floor up to the new stamp); the new stamp
    /// when a row matched.
    async fn write_stamped(
        &self,
        id: UserId,
        mut sets: Vec<(Column, SimpleExpr)>,
        revokes: bool,
        at: OffsetDateTime,
        only_if: Vec<SimpleExpr>,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        let next = || Expr::col(Column::SecurityStamp).add(1);
        sets.push((Column::SecurityStamp, next()));
        if revokes {
            sets.push((Column::RevokedBelow, next()));
        }
        let rows = self
            .statement(id, sets, at, only_if)
            .exec_with_returning(&self.db)
            .await
            .context("user update failed")?;
        rows.first()
            .map(|row| stamp(row.security_stamp))
            .transpose()
    }

    fn statement(
        &self,
        id: UserId,
        sets: Vec<(Column, SimpleExpr)>,
        at: OffsetDateTime,
        only_if: Vec<SimpleExpr>,
    ) -> UpdateMany<Entity> {
        let mut update = Entity::update_many()
            .col_expr(Column::UpdatedAt, Expr::value(at))
            .filter(Column::Id.eq(id.as_uuid()));
        for (column, value) in sets {
            update = update.col_expr(column, value);
        }
        for condition in only_if {
            update = update.filter(condition);
        }
        update
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
        Entity::insert(to_active(user)?)
            .exec_without_returning(&self.db)
            .await
            .map(drop)
            .map_err(insert_error)
    }

    async fn insert_many(&self, users: &[User]) -> Result<(), InsertUserError> {
        if users.is_empty() {
            return Ok(());
        }
        let rows = users
            .iter()
            .map(to_active)
            .collect::<anyhow::Result<Vec<_>>>()?;
        Entity::insert_many(rows)
            .exec_without_returning(&self.db)
            .await
            .map(drop)
            .map_err(insert_error)
    }

    async fn update_profile(
        &self,
        id: UserId,
        changes: &ProfileChanges,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let mut sets = Vec::new();
        if let Some(name) = &changes.first_name {
            sets.push((Column::FirstName, Expr::value(name.clone())));
        }
        if let Some(name) = &changes.last_name {
            sets.push((Column::LastName, Expr::value(name.clone())));
        }
        if let Some(phone) = &changes.phone_number {
            let phone = phone.as_ref().map(|p| p.as_str().to_owned());
            sets.push((Column::PhoneNumber, Expr::value(phone)));
        }
        if let Some(date) = changes.birth_date {
            sets.push((Column::BirthDate, Expr::value(date)));
        }
        if let Some(on) = changes.security_emails {
            sets.push((Column::SecurityEmails, Expr::value(on)));
        }
        if let Some(on) = changes.product_emails {
            sets.push((Column::ProductEmails, Expr::value(on)));
        }
        self.write(id, sets, at, vec![Column::IsActive.eq(true)])
            .await
    }

    async fn set_avatar_url(
        &self,
        id: UserId,
        url: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let sets = vec![(Column::AvatarUrl, Expr::value(url.to_owned()))];
        self.write(id, sets, at, vec![Column::IsActive.eq(true)])
            .await
    }

    async fn mark_verified(&self, id: UserId, at: OffsetDateTime) -> anyhow::Result<bool> {
        let sets = vec![(Column::IsVerified, Expr::value(true))];
        self.write(id, sets, at, vec![Column::IsActive.eq(true)])
            .await
    }

    async fn set_password<'a>(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: Option<&'a PasswordHash>,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        let sets = vec![(Column::PasswordHash, Expr::value(hash.as_str().to_owned()))];
        let mut only_if = vec![Column::IsActive.eq(true)];
        only_if.extend(expected.map(|old| Column::PasswordHash.eq(old.as_str())));
        self.write_stamped(id, sets, true, at, only_if).await
    }

    async fn upgrade_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: &PasswordHash,
    ) -> anyhow::Result<bool> {
        let result = Entity::update_many()
            .col_expr(Column::PasswordHash, Expr::value(hash.as_str().to_owned()))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::PasswordHash.eq(expected.as_str()))
            .exec(&self.db)
            .await
            .context("password hash upgrade failed")?;
        Ok(result.rows_affected == 1)
    }

    async fn update_access(
        &self,
        id: UserId,
        access: &AccessFields,
        expected: SecurityStamp,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        let sets = vec![
            (Column::Role, Expr::value(access.role.as_str())),
            (
                Column::Permissions,
                Expr::value(permission_list(&access.permissions)),
            ),
            (Column::IsActive, Expr::value(access.is_active)),
        ];
        let only_if = vec![Column::SecurityStamp.eq(stored_stamp(expected)?)];
        self.write_stamped(id, sets, !access.is_active, at, only_if)
            .await
    }

    async fn bump_security_stamp(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        self.write_stamped(id, Vec::new(), true, at, Vec::new())
            .await
    }

    async fn set_verified(
        &self,
        id: UserId,
        verified: bool,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        // An admin's correction: it applies to deactivated accounts too.
        let sets = vec![(Column::IsVerified, Expr::value(verified))];
        self.write(id, sets, at, Vec::new()).await
    }

    async fn imported(&self, source_ids: &[i64]) -> anyhow::Result<Vec<(i64, User)>> {
        if source_ids.is_empty() {
            return Ok(Vec::new());
        }
        let links = imported_account::Entity::find()
            .filter(imported_account::Column::SourceId.is_in(source_ids.iter().copied()))
            .all(&self.db)
            .await
            .context("import link query failed")?;
        let mut found = Vec::with_capacity(links.len());
        for link in links {
            if let Some(user) = self.find_by_id(UserId::from_uuid(link.user_id)).await? {
                found.push((link.source_id, user));
            }
        }
        Ok(found)
    }

    async fn import(
        &self,
        writes: &[ImportWrite],
        at: OffsetDateTime,
    ) -> Result<(), InsertUserError> {
        let txn = self
            .db
            .begin()
            .await
            .context("cannot start the import transaction")?;
        for write in writes {
            match write {
                ImportWrite::Insert { user, source_id } => {
                    Entity::insert(to_active(user)?)
                        .exec_without_returning(&txn)
                        .await
                        .map_err(insert_error)?;
                    imported_account::Entity::insert(imported_account::ActiveModel {
                        source_id: Set(*source_id),
                        user_id: Set(user.id.as_uuid()),
                    })
                    .exec_without_returning(&txn)
                    .await
                    .context("import link insert failed")?;
                }
                ImportWrite::Update {
                    user,
                    expected,
                    expected_hash,
                    access_changed,
                    revokes,
                } => {
                    let only_if = vec![
                        Column::SecurityStamp.eq(stored_stamp(*expected)?),
                        Column::PasswordHash.eq(expected_hash.as_str()),
                    ];
                    let mut update = self.statement(user.id, imported_columns(user), at, only_if);
                    let next = || Expr::col(Column::SecurityStamp).add(1);
                    if *access_changed {
                        update = update.col_expr(Column::SecurityStamp, next());
                    }
                    if *revokes {
                        update = update.col_expr(Column::RevokedBelow, next());
                    }
                    let result = update.exec(&txn).await.context("import update failed")?;
                    if result.rows_affected != 1 {
                        // Dropping the transaction rolls the batch back.
                        return Err(InsertUserError::Unavailable(anyhow::anyhow!(
                            "{} changed while it was being imported",
                            user.email.as_str()
                        )));
                    }
                }
            }
        }
        txn.commit().await.context("import commit failed")?;
        Ok(())
    }

    async fn page(&self, filter: &UserFilter, request: &PageRequest) -> anyhow::Result<Vec<User>> {
        let select = Entity::find().filter(filter_condition(filter));
        let rows = keyset::page(select, Column::CreatedAt, Column::Id, request)
            .all(&self.db)
            .await
            .context("user page query failed")?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn count(&self, created_since: Option<OffsetDateTime>) -> anyhow::Result<u64> {
        let mut select = Entity::find();
        if let Some(since) = created_since {
            select = select.filter(Column::CreatedAt.gte(since));
        }
        select.count(&self.db).await.context("user count failed")
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

/// The `WHERE` of a directory page: every filter that is set, together.
fn filter_condition(filter: &UserFilter) -> Condition {
    let mut condition = Condition::all();
    if let Some(text) = &filter.search {
        condition = condition.add(like::any_contains([Column::Email, Column::Username], text));
    }
    if let Some(role) = filter.role {
        condition = condition.add(Column::Role.eq(role.as_str()));
    }
    if let Some(active) = filter.is_active {
        condition = condition.add(Column::IsActive.eq(active));
    }
    if let Some(verified) = filter.is_verified {
        condition = condition.add(Column::IsVerified.eq(verified));
    }
    condition
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

/// The columns an import writes over an existing account.
fn imported_columns(user: &User) -> Vec<(Column, SimpleExpr)> {
    vec![
        (Column::FirstName, Expr::value(user.first_name.clone())),
        (Column::LastName, Expr::value(user.last_name.clone())),
        (
            Column::PasswordHash,
            Expr::value(user.password_hash.as_str().to_owned()),
        ),
        (Column::Role, Expr::value(user.role.as_str())),
        (
            Column::Permissions,
            Expr::value(permission_list(&user.permissions)),
        ),
        (Column::IsActive, Expr::value(user.is_active)),
        (Column::IsVerified, Expr::value(user.is_verified)),
        (
            Column::PhoneNumber,
            Expr::value(user.phone_number.as_ref().map(|p| p.as_str().to_owned())),
        ),
        (Column::BirthDate, Expr::value(user.birth_date)),
    ]
}

fn permission_list(permissions: &std::collections::BTreeSet<Permission>) -> String {
    let names: Vec<&str> = permissions.iter().map(Permission::as_str).collect();
    names.join(",")
}

fn stored_stamp(stamp: SecurityStamp) -> anyhow::Result<i64> {
    i64::try_from(stamp.get()).context("security stamp out of range")
}

fn stamp(stored: i64) -> anyhow::Result<SecurityStamp> {
    u64::try_from(stored)
        .map(SecurityStamp::new)
        .context("stored security stamp is negative")
}

fn to_active(user: &User) -> anyhow::Result<ActiveModel> {
    Ok(ActiveModel {
        id: Set(user.id.as_uuid()),
        email: Set(user.email.as_str().to_owned()),
        username: Set(user.username.as_str().to_owned()),
        password_hash: Set(user.password_hash.as_str().to_owned()),
        first_name: Set(user.first_name.clone()),
        last_name: Set(user.last_name.clone()),
        role: Set(user.role.as_str().to_owned()),
        permissions: Set(permission_list(&user.permissions)),
        is_active: Set(user.is_active),
        is_verified: Set(user.is_verified),
        phone_number: Set(user.phone_number.as_ref().map(|p| p.as_str().to_owned())),
        birth_date: Set(user.birth_date),
        security_emails: Set(user.notifications.security_emails),
        product_emails: Set(user.notifications.product_emails),
        avatar_url: Set(user.avatar_url.clone()),
        credits: Set(user.credits),
        security_stamp: Set(stored_stamp(user.security_stamp)?),
        revoked_below: Set(stored_stamp(user.revoked_below)?),
        created_at: Set(user.created_at),
        updated_at: Set(user.updated_at),
    })
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
        security_stamp: stamp(row.security_stamp)?,
        revoked_below: stamp(row.revoked_below)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
