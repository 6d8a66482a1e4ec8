//! The import source on a Django project's database (PostgreSQL or SQLite): the accounts of
//! its user table, with the permission codenames each holds directly and through groups.
//!
//! The schema is Django's, not ours, so there are no entities: the adapter introspects the
//! table once when it connects, then reads with raw statements built from what it found.
//! Django's names are fixed (see its `auth` app): the user table is `auth_user` or a custom
//! model's `<app>_<model>`; its many-to-many tables are `<table>_groups` and
//! `<table>_user_permissions`, whose user column is named after the model *class*
//! (`user_id` for `auth.User`, `customuser_id` for `users.CustomUser`), so it is found by
//! introspection rather than guessed.

mod parse;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use gatehouse_application::ports::{ForeignAccount, ImportSource};
use md5::{Digest, Md5};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, QueryResult,
    Statement, Value,
};
use time::{Date, OffsetDateTime, PrimitiveDateTime};

/// The longest identifier PostgreSQL keeps; Django shortens longer generated names to it.
const POSTGRES_MAX_NAME: usize = 63;

/// How a column is read. Everything but dates and moments is selected as text and parsed
/// here, so that one rule serves both backends whatever the declared type (an `integer` or a
/// `numeric` for credits, a `bool` stored as `0`/`1` on SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Flag,
    Amount,
    Moment,
    Day,
}

/// The columns read when the table has them; any of them may be missing (a custom model with
/// only `AbstractBaseUser` has none of `auth_user`'s but `password` and `last_login`).
const OPTIONAL: [(&str, Kind); 12] = [
    ("username", Kind::Text),
    ("first_name", Kind::Text),
    ("last_name", Kind::Text),
    ("is_active", Kind::Flag),
    ("is_superuser", Kind::Flag),
    ("is_staff", Kind::Flag),
    ("date_joined", Kind::Moment),
    ("role", Kind::Text),
    ("is_verified", Kind::Flag),
    ("phone_number", Kind::Text),
    ("birth_date", Kind::Day),
    ("credits", Kind::Amount),
];

/// The columns without which a row is no account.
const REQUIRED: [&str; 3] = ["id", "password", "email"];

/// [`ImportSource`] on a Django database. It only ever reads: SQLite files are opened
/// read-only, and on PostgreSQL it issues nothing but `SELECT`s.
pub struct DjangoSource {
    db: DatabaseConnection,
    /// The user table, quoted.
    table: String,
    /// The optional columns the table has.
    present: HashSet<&'static str>,
    /// The select list, built once from the columns found.
    select: String,
    /// The permissions of the users whose id lies between two bounds, when the table has
    /// permission tables at all.
    permissions: Option<String>,
}

impl DjangoSource {
    /// Connects to the Django database at `url` (`postgres://...` or `sqlite://path`) and
    /// checks that `table` is a user table: it has `id` (an integer), `password` and `email`.
    ///
    /// `table` is checked against Django's identifier shape before anything else, since it is
    /// written into the SQL. A SQLite file that does not exist is an error rather than a new
    /// empty database.
    pub async fn connect(url: &str, table: &str) -> anyhow::Result<Self> {
        check_table_name(table)?;
        let url = read_only_url(url)?;
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        let db = Database::connect(options)
            .await
            .context("cannot connect to the Django database")?;
        let backend = db.get_database_backend();

        let columns = columns(&db, table).await?;
        if columns.is_empty() {
            bail!("the Django database has no table {table}");
        }
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|name| !columns.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            bail!(
                "table {table} has no {} column: it is not a Django user table",
                missing.join(", ")
            );
        }
        let id_type = columns.get("id").map_or("", String::as_str);
        if !integer_type(backend, id_type) {
            bail!(
                "the id column of {table} is {id_type}, not an integer: only integer keys can \
                 be imported"
            );
        }

        let present: HashSet<&'static str> = OPTIONAL
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| columns.contains_key(*name))
            .collect();
        let mut select = vec![
            r#"CAST("id" AS BIGINT) AS "id""#.to_owned(),
            r#"CAST("password" AS TEXT) AS "password""#.to_owned(),
            r#"CAST("email" AS TEXT) AS "email""#.to_owned(),
        ];
        for (name, kind) in OPTIONAL {
            if present.contains(name) {
                select.push(select_expression(backend, name, kind));
            }
        }
        let permissions = permissions_query(&db, table).await?;

        Ok(Self {
            db,
            table: quote(table),
            present,
            select: select.join(", "),
            permissions,
        })
    }

    /// The permission codenames of every user whose id is within `first..=last`.
    async fn permissions(
        &self,
        first: i64,
        last: i64,
    ) -> anyhow::Result<HashMap<i64, BTreeSet<String>>> {
        let mut held: HashMap<i64, BTreeSet<String>> = HashMap::new();
        let Some(sql) = &self.permissions else {
            return Ok(held);
        };
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(
                self.db.get_database_backend(),
                sql,
                [Value::from(first), Value::from(last)],
            ))
            .await
            .context("cannot read the Django permissions")?;
        for row in rows {
            let user: i64 = row
                .try_get("", "user_id")
                .context("unreadable user id in a Django permission table")?;
            let codename: String = row
                .try_get("", "codename")
                .context("unreadable codename in auth_permission")?;
            held.entry(user).or_default().insert(codename);
        }
        Ok(held)
    }

    /// One row as an account. The required columns must be readable; an optional value that
    /// is not is logged and left unset, so one odd value does not stop the whole import.
    fn account(&self, row: &QueryResult) -> anyhow::Result<ForeignAccount> {
        let id: i64 = row
            .try_get("", "id")
            .context("unreadable id in the Django user table")?;
        // NULL is read as empty: the import rejects an empty email or password itself.
        let required = |column: &str| -> anyhow::Result<String> {
            let value: Option<String> = row
                .try_get("", column)
                .with_context(|| format!("unreadable {column} of Django user {id}"))?;
            Ok(value.unwrap_or_default())
        };
        let backend = self.db.get_database_backend();
        let read_text = |column| self.optional(row, id, column, text);
        let read_flag = |column| self.optional(row, id, column, flag);
        Ok(ForeignAccount {
            id,
            email: required("email")?,
            password: required("password")?,
            username: read_text("username").flatten(),
            first_name: read_text("first_name").flatten().unwrap_or_default(),
            last_name: read_text("last_name").flatten().unwrap_or_default(),
            // Django's models without the column are all active (`AbstractBaseUser` has
            // `is_active = True`); a value that is there but unreadable counts as inactive,
            // and unreadable privileges as not granted: a guess must not open an account.
            is_active: flag_or(read_flag("is_active"), true),
            is_superuser: flag_or(read_flag("is_superuser"), false),
            is_staff: flag_or(read_flag("is_staff"), false),
            date_joined: self
                .optional(row, id, "date_joined", |row, c| moment(backend, row, c))
                .flatten(),
            role: read_text("role").flatten(),
            is_verified: read_flag("is_verified").flatten(),
            phone_number: read_text("phone_number").flatten(),
            birth_date: self
                .optional(row, id, "birth_date", |row, c| day(backend, row, c))
                .flatten(),
            credits: self.optional(row, id, "credits", amount).flatten(),
            permissions: BTreeSet::new(),
        })
    }

    /// An optional column's value: `None` when the table has no such column, `Some(None)`
    /// when the value is NULL or cannot be read as its kind (logged with the user's id; the
    /// value itself is not logged, it may be personal).
    fn optional<T>(
        &self,
        row: &QueryResult,
        id: i64,
        column: &str,
        read: impl FnOnce(&QueryResult, &str) -> Result<Option<T>, Unreadable>,
    ) -> Option<Option<T>> {
        if !self.present.contains(column) {
            return None;
        }
        match read(row, column) {
            Ok(value) => Some(value),
            Err(Unreadable) => {
                tracing::warn!(
                    id,
                    column,
                    "unreadable value in the Django user table, left unset"
                );
                Some(None)
            }
        }
    }
}

/// A flag's value: `missing` when the table has no such column, false when it is NULL or
/// unreadable.
fn flag_or(value: Option<Option<bool>>, missing: bool) -> bool {
    match value {
        None => missing,
        Some(value) => value.unwrap_or(false),
    }
}

#[async_trait]
impl ImportSource for DjangoSource {
    async fn count(&self) -> anyhow::Result<u64> {
        let sql = format!(r#"SELECT COUNT(*) AS "n" FROM {}"#, self.table);
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .context("cannot count the Django users")?
            .context("COUNT returned no row")?;
        let count: i64 = row.try_get("", "n").context("unreadable user count")?;
        u64::try_from(count).context("negative user count")
    }

    async fn batch(&self, after: Option<i64>, limit: u64) -> anyhow::Result<Vec<ForeignAccount>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let backend = self.db.get_database_backend();
        let mut sql = format!("SELECT {} FROM {}", self.select, self.table);
        let mut values = Vec::new();
        if let Some(after) = after {
            values.push(Value::from(after));
            sql.push_str(&format!(
                r#" WHERE "id" > {}"#,
                placeholder(backend, values.len())
            ));
        }
        values.push(Value::from(i64::try_from(limit).unwrap_or(i64::MAX)));
        sql.push_str(&format!(
            r#" ORDER BY "id" LIMIT {}"#,
            placeholder(backend, values.len())
        ));
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .context("cannot read the Django users")?;
        let mut accounts = rows
            .iter()
            .map(|row| self.account(row))
            .collect::<anyhow::Result<Vec<_>>>()?;
        // The batch is every id from its first to its last, so that range selects exactly
        // its users' permissions, in one query whatever the batch size.
        if let (Some(first), Some(last)) = (accounts.first(), accounts.last()) {
            let mut held = self.permissions(first.id, last.id).await?;
            for account in &mut accounts {
                account.permissions = held.remove(&account.id).unwrap_or_default();
            }
        }
        Ok(accounts)
    }
}

/// A value that is there but cannot be read as its column's kind.
struct Unreadable;

fn text(row: &QueryResult, column: &str) -> Result<Option<String>, Unreadable> {
    row.try_get("", column).map_err(|_| Unreadable)
}

/// Parses a text value; NULL stays `None`, text that does not parse is [`Unreadable`].
fn parsed<T>(
    row: &QueryResult,
    column: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, Unreadable> {
    text(row, column)?
        .map(|value| parse(&value).ok_or(Unreadable))
        .transpose()
}

fn flag(row: &QueryResult, column: &str) -> Result<Option<bool>, Unreadable> {
    parsed(row, column, parse::flag)
}

fn amount(row: &QueryResult, column: &str) -> Result<Option<i64>, Unreadable> {
    parsed(row, column, parse::whole_amount)
}

/// A moment: PostgreSQL's `timestamp with time zone` as it is, a `timestamp` (a project with
/// `USE_TZ = False`) taken as UTC; text (all of SQLite's) parsed.
fn moment(
    backend: DbBackend,
    row: &QueryResult,
    column: &str,
) -> Result<Option<OffsetDateTime>, Unreadable> {
    if backend == DbBackend::Postgres {
        if let Ok(value) = row.try_get::<Option<OffsetDateTime>>("", column) {
            return Ok(value);
        }
        if let Ok(value) = row.try_get::<Option<PrimitiveDateTime>>("", column) {
            return Ok(value.map(PrimitiveDateTime::assume_utc));
        }
    }
    parsed(row, column, parse::moment)
}

/// A date: PostgreSQL's `date` as it is; text (all of SQLite's) parsed.
fn day(backend: DbBackend, row: &QueryResult, column: &str) -> Result<Option<Date>, Unreadable> {
    if backend == DbBackend::Postgres
        && let Ok(value) = row.try_get::<Option<Date>>("", column)
    {
        return Ok(value);
    }
    parsed(row, column, parse::day)
}

/// The select-list entry of an optional column. Dates and moments on PostgreSQL keep their
/// type (their text form depends on the session's `DateStyle` and time zone); everything
/// else is cast to text, which never fails in the database, so an odd value is caught per
/// row by the parser instead of failing the whole query.
fn select_expression(backend: DbBackend, name: &str, kind: Kind) -> String {
    let column = quote(name);
    match (backend, kind) {
        (DbBackend::Postgres, Kind::Moment | Kind::Day) => format!("{column} AS {column}"),
        _ => format!("CAST({column} AS TEXT) AS {column}"),
    }
}

/// Checks that `table` has the shape of a Django table name. It is written into SQL, so
/// nothing else is let through, quoted or not.
fn check_table_name(table: &str) -> anyhow::Result<()> {
    let mut chars = table.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !first_ok || !rest_ok || table.len() > POSTGRES_MAX_NAME {
        bail!(
            "invalid table name {table:?}: expected letters, digits and underscores, not \
             starting with a digit, at most {POSTGRES_MAX_NAME} characters"
        );
    }
    Ok(())
}

/// `url` with SQLite opened read-only (an import never writes to its source), after
/// checking the file is there: SQLite would otherwise report a bare "unable to open", and a
/// `mode=rwc` in the URL would create an empty database that looks like a project with no
/// users.
fn read_only_url(url: &str) -> anyhow::Result<String> {
    let Some(rest) = url.strip_prefix("sqlite:") else {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(url.to_owned());
        }
        bail!("unsupported Django database URL: expected postgres://... or sqlite://...");
    };
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        bail!("an in-memory SQLite database holds no Django project");
    }
    let file = percent_decoded(path);
    if !std::path::Path::new(&file).is_file() {
        bail!("no Django database at {file}");
    }
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|param| !param.is_empty() && !param.starts_with("mode="))
        .collect();
    params.push("mode=ro");
    Ok(format!("sqlite://{path}?{}", params.join("&")))
}

/// `%XX` escapes decoded, as sqlx decodes a SQLite URL's path (for `?` or `#` in a file
/// name); an invalid escape is left as it is.
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The columns of `table` by name, with their declared types; empty when there is no such
/// table (or view).
async fn columns(db: &DatabaseConnection, table: &str) -> anyhow::Result<HashMap<String, String>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        // `information_schema` names are of a domain type; cast so they decode as text.
        DbBackend::Postgres => {
            r#"SELECT CAST(column_name AS TEXT) AS "name", CAST(data_type AS TEXT) AS "type"
               FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = $1"#
        }
        DbBackend::Sqlite => r#"SELECT name AS "name", type AS "type" FROM pragma_table_info(?1)"#,
        _ => bail!("unsupported Django database: only PostgreSQL and SQLite are read"),
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, [table.into()]))
        .await
        .with_context(|| format!("cannot read the columns of {table}"))?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get("", "name")?;
            let kind: Option<String> = row.try_get("", "type")?;
            Ok((name, kind.unwrap_or_default()))
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .with_context(|| format!("cannot read the columns of {table}"))
}

/// Whether a declared type holds integers: PostgreSQL's integer types, or any SQLite type
/// with integer affinity (`integer`, `bigint`: the name contains `INT`).
fn integer_type(backend: DbBackend, declared: &str) -> bool {
    match backend {
        DbBackend::Postgres => matches!(declared, "smallint" | "integer" | "bigint"),
        _ => declared.to_ascii_uppercase().contains("INT"),
    }
}

/// The query for the permission codenames of the users whose id is between `$1` and `$2`:
/// direct (`<table>_user_permissions`) and through groups (`<table>_groups` and
/// `auth_group_permissions`), each part only when its tables exist. `None` when neither does
/// (a custom model without `PermissionsMixin`).
async fn permissions_query(db: &DatabaseConnection, table: &str) -> anyhow::Result<Option<String>> {
    let backend = db.get_database_backend();
    if columns(db, "auth_permission").await?.is_empty() {
        return Ok(None);
    }
    let (first, last) = (placeholder(backend, 1), placeholder(backend, 2));
    let mut parts = Vec::new();

    let direct = m2m_table(backend, table, "user_permissions");
    if let Some(user) = m2m_user_column(db, &direct, "permission_id").await? {
        let user = quote(&user);
        parts.push(format!(
            r#"SELECT CAST(m.{user} AS BIGINT) AS "user_id", p."codename" AS "codename"
               FROM {} m JOIN "auth_permission" p ON p."id" = m."permission_id"
               WHERE m.{user} >= {first} AND m.{user} <= {last}"#,
            quote(&direct)
        ));
    }

    let groups = m2m_table(backend, table, "groups");
    if !columns(db, "auth_group_permissions").await?.is_empty()
        && let Some(user) = m2m_user_column(db, &groups, "group_id").await?
    {
        let user = quote(&user);
        parts.push(format!(
            r#"SELECT CAST(m.{user} AS BIGINT) AS "user_id", p."codename" AS "codename"
               FROM {} m
               JOIN "auth_group_permissions" g ON g."group_id" = m."group_id"
               JOIN "auth_permission" p ON p."id" = g."permission_id"
               WHERE m.{user} >= {first} AND m.{user} <= {last}"#,
            quote(&groups)
        ));
    }

    // UNION drops a codename held both directly and through a group, or through two groups.
    Ok((!parts.is_empty()).then(|| parts.join(" UNION ")))
}

/// The user column of the many-to-many table `m2m` whose other side is `target`, `None`
/// when the table does not exist. Django names it after the model class, which the database
/// does not record, so it is the one column besides `id` and `target`.
async fn m2m_user_column(
    db: &DatabaseConnection,
    m2m: &str,
    target: &str,
) -> anyhow::Result<Option<String>> {
    let columns = columns(db, m2m).await?;
    if columns.is_empty() {
        return Ok(None);
    }
    let mut others: Vec<String> = columns
        .into_keys()
        .filter(|name| name != "id" && name != target)
        .collect();
    match others.pop() {
        Some(user) if others.is_empty() => Ok(Some(user)),
        _ => bail!(
            "{m2m} is not a Django many-to-many table: expected id, {target} and one user \
             column"
        ),
    }
}

/// The name Django gives the many-to-many table of `field` on `table`: `<table>_<field>`,
/// shortened as Django's `truncate_name` does when PostgreSQL could not keep it whole (the
/// head of the name, then the first four hex digits of its MD5). SQLite keeps any length.
fn m2m_table(backend: DbBackend, table: &str, field: &str) -> String {
    let name = format!("{table}_{field}");
    if backend != DbBackend::Postgres || name.len() <= POSTGRES_MAX_NAME {
        return name;
    }
    const HASH_LEN: usize = 4;
    let digest = Md5::digest(name.as_bytes());
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    // The name is ASCII (the table was checked), so any byte index is a char boundary.
    format!(
        "{}{}",
        &name[..POSTGRES_MAX_NAME - HASH_LEN],
        &hex[..HASH_LEN]
    )
}

/// The `n`th (from 1) bound parameter.
fn placeholder(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => format!("?{n}"),
    }
}

/// `name` as a quoted SQL identifier. Table names are checked before this; column names
/// come from the database's own catalogue, and a `"` in one is doubled.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_have_django_shape() {
        for good in ["auth_user", "accounts_user", "_x", "U", &"a".repeat(63)] {
            assert!(check_table_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1user",
            "auth_user; drop table x",
            "\"auth_user\"",
            "public.auth_user",
            "auth-user",
            "usér",
            &"a".repeat(64),
        ] {
            assert!(check_table_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn m2m_names_are_truncated_as_django_does_on_postgres() {
        assert_eq!(
            m2m_table(DbBackend::Postgres, "auth_user", "groups"),
            "auth_user_groups"
        );
        let long = "a".repeat(60);
        let name = m2m_table(DbBackend::Postgres, &long, "user_permissions");
        assert_eq!(name.len(), 63);
        assert!(name.starts_with(&"a".repeat(59)));
        // Django: truncate_name("a"*60 + "_user_permissions", 63) ends in md5(...)[:4].
        let digest = Md5::digest(format!("{long}_user_permissions").as_bytes());
        assert_eq!(&name[59..], &format!("{:02x}{:02x}", digest[0], digest[1]));
        assert_eq!(
            m2m_table(DbBackend::Sqlite, &long, "user_permissions"),
            format!("{long}_user_permissions")
        );
    }

    #[test]
    fn sqlite_urls_open_read_only_and_only_existing_files() {
        let missing = std::env::temp_dir().join("gatehouse-no-such-django.db");
        let error = read_only_url(&format!("sqlite://{}", missing.display())).unwrap_err();
        assert!(
            error.to_string().contains("no Django database at"),
            "{error}"
        );
        assert!(!missing.exists());
        assert!(read_only_url("sqlite::memory:").is_err());
        assert!(read_only_url("mysql://x").is_err());
        assert_eq!(
            read_only_url("postgres://u@h/db").unwrap(),
            "postgres://u@h/db"
        );
        let file = std::env::temp_dir().join(format!(
            "gatehouse-django-url-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&file, b"").unwrap();
        let url = read_only_url(&format!(
            "sqlite://{}?mode=rwc&cache=private",
            file.display()
        ));
        std::fs::remove_file(&file).unwrap();
        assert_eq!(
            url.unwrap(),
            format!("sqlite://{}?cache=private&mode=ro", file.display())
        );
        assert_eq!(percent_decoded("/tmp/a%3Fb%zz"), "/tmp/a?b%zz");
    }
}
