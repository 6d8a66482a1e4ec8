//! Importing accounts from a Django project: each account of the source becomes a Gatehouse
//! account (or updates the one with its email), its Django password hash kept as it is
//! until the first sign-in replaces it. Batched, one transaction per batch; a row that
//! cannot be imported is reported with its reason and the rest go on.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use gatehouse_domain::{Email, PasswordHash, Permission, PhoneNumber, Role, User, Username};

use crate::accounts::ports::{
    ForeignAccount, ImportSource, ImportWrite, PasswordHasher, UserRepository,
};
use crate::shared::error::AppError;
use crate::shared::ports::Clock;

/// How many accounts one transaction imports.
pub const IMPORT_BATCH: u64 = 500;

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// New accounts.
    pub imported: u64,
    /// Accounts that were there already (found by email) and were brought up to date.
    pub updated: u64,
    /// Source rows left out: who (email, or the source id) and why.
    pub skipped: Vec<(String, String)>,
}

/// Copies a Django project's accounts into Gatehouse.
pub struct UserImport {
    source: Arc<dyn ImportSource>,
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
}

/// One source row, decided.
enum Decision {
    Write(Box<ImportWrite>),
    Skip(String),
}

impl UserImport {
    /// An import from `source` into `users`; `hasher` tells a hash Gatehouse wrote (kept on
    /// re-import) from an imported one (replaced by the source's current one).
    pub fn new(
        source: Arc<dyn ImportSource>,
        users: Arc<dyn UserRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            source,
            users,
            hasher,
            clock,
        }
    }

    /// How many accounts the source holds (for a progress bar).
    pub async fn total(&self) -> Result<u64, AppError> {
        Ok(self.source.count().await?)
    }

    /// Runs the import; `dry_run` reads and decides everything and writes nothing.
    /// `progress` is told how many source rows were handled so far.
    pub async fn run(
        &self,
        dry_run: bool,
        mut progress: impl FnMut(u64),
    ) -> Result<ImportSummary, AppError> {
        let mut summary = ImportSummary::default();
        // Django does not make emails unique; the first account with an address wins.
        let mut seen = HashSet::new();
        let mut after = None;
        let mut handled = 0;
        loop {
            let batch = self.source.batch(after, IMPORT_BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.id);
            let ids: Vec<i64> = batch.iter().map(|a| a.id).collect();
            let linked: HashMap<i64, User> = self.users.imported(&ids).await?.into_iter().collect();
            let mut writes = Vec::new();
            for account in &batch {
                let earlier = linked.get(&account.id).cloned();
                match self.decide(account, earlier, &mut seen, &writes).await? {
                    Decision::Write(write) => writes.push(*write),
                    Decision::Skip(reason) => summary.skipped.push((who(account), reason)),
                }
            }
            if !dry_run {
                self.users
                    .import(&writes, self.clock.now())
                    .await
                    .map_err(|e| AppError::Unavailable(anyhow::Error::new(e)))?;
            }
            for write in &writes {
                match write {
                    ImportWrite::Insert { .. } => summary.imported += 1,
                    ImportWrite::Update { .. } => summary.updated += 1,
                }
            }
            handled += batch.len() as u64;
            progress(handled);
        }
        Ok(summary)
    }

    /// What to do with one source row. `earlier` is the account an earlier import made of
    /// it: only that account is ever updated. An account that merely shares the email (made
    /// in Gatehouse, or from another row) is left alone: an email is no proof of identity,
    /// and someone who signed up with a Django admin's address must not become that admin.
    async fn decide(
        &self,
        account: &ForeignAccount,
        earlier: Option<User>,
        seen: &mut HashSet<String>,
        pending: &[ImportWrite],
    ) -> Result<Decision, AppError> {
        let Ok(email) = Email::parse(account.email.trim()) else {
            return Ok(Decision::Skip("the email is missing or not valid".into()));
        };
        let imported = match imported_fields(account) {
            Ok(fields) => fields,
            Err(reason) => return Ok(Decision::Skip(reason)),
        };
        if !seen.insert(email.as_str().to_owned()) {
            return Ok(Decision::Skip(
                "another account of this import has the same email".into(),
            ));
        }
        if let Some(existing) = earlier {
            return Ok(Decision::Write(Box::new(self.update(existing, imported))));
        }
        if self.users.find_by_email(&email).await?.is_some() {
            return Ok(Decision::Skip(
                "a Gatehouse account that this import did not create has this email".into(),
            ));
        }
        let username = match username_for(account, &email) {
            Ok(username) => username,
            Err(reason) => return Ok(Decision::Skip(reason)),
        };
        let taken_here = pending.iter().any(|w| match w {
            ImportWrite::Insert { user, .. } | ImportWrite::Update { user, .. } => {
                user.username.normalized() == username.normalized()
            }
        });
        if taken_here || self.users.find_by_username(&username).await?.is_some() {
            return Ok(Decision::Skip(format!(
                "the username {} belongs to another account",
                username.as_str()
            )));
        }
        let user = new_account(email, username, imported, self.clock.now());
        Ok(Decision::Write(Box::new(ImportWrite::Insert {
            user,
            source_id: account.id,
        })))
    }

    /// The account an earlier import made, brought up to the source's state. A password
    /// Gatehouse wrote (upgraded at sign-in, changed or reset here) is kept; any other
    /// follows the source, and a new one ends the account's credentials like a reset.
    fn update(&self, existing: User, imported: Imported) -> ImportWrite {
        let mut user = existing.clone();
        user.first_name = imported.first_name;
        user.last_name = imported.last_name;
        let gatehouse_wrote = existing.password_hash.as_str().starts_with("$2")
            && !self.hasher.needs_upgrade(&existing.password_hash);
        if !gatehouse_wrote {
            user.password_hash = imported.password_hash;
        }
        user.role = imported.role;
        user.permissions = imported.permissions;
        user.is_active = imported.is_active;
        user.is_verified = imported.is_verified.unwrap_or(existing.is_verified);
        user.phone_number = imported.phone_number.or(existing.phone_number.clone());
        user.birth_date = imported.birth_date.or(existing.birth_date);
        let new_password = user.password_hash != existing.password_hash;
        let revokes = new_password
            || (existing.is_active && !user.is_active)
            || (existing.role == Role::Admin && user.role != Role::Admin)
            || !existing.permissions.is_subset(&user.permissions);
        let access_changed = revokes
            || user.role != existing.role
            || user.permissions != existing.permissions
            || user.is_active != existing.is_active;
        ImportWrite::Update {
            expected: existing.security_stamp,
            expected_hash: existing.password_hash,
            access_changed,
            revokes,
            user,
        }
    }
}

/// What the source says about an account, checked.
struct Imported {
    first_name: String,
    last_name: String,
    password_hash: PasswordHash,
    role: Role,
    permissions: BTreeSet<Permission>,
    is_active: bool,
    is_verified: Option<bool>,
    phone_number: Option<PhoneNumber>,
    birth_date: Option<time::Date>,
    credits: i64,
    created_at: Option<time::OffsetDateTime>,
}

fn imported_fields(account: &ForeignAccount) -> Result<Imported, String> {
    let name = |field, raw: &str| User::parse_name(field, raw).map_err(|e| format!("{e}"));
    let phone_number = match account.phone_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(PhoneNumber::parse(raw).map_err(|e| format!("{e}"))?),
    };
    let admin = account.is_superuser
        || account.is_staff
        || account
            .role
            .as_deref()
            .is_some_and(|r| r.trim().eq_ignore_ascii_case("admin"));
    Ok(Imported {
        first_name: name("first_name", &account.first_name)?,
        last_name: name("last_name", &account.last_name)?,
        // An empty Django password is unusable too; `!` keeps it unusable here.
        password_hash: PasswordHash::new(if account.password.is_empty() {
            "!".to_owned()
        } else {
            account.password.clone()
        }),
        role: if admin { Role::Admin } else { Role::User },
        // Codenames Gatehouse does not know (Django's own add_user, ...) are left behind.
        permissions: account
            .permissions
            .iter()
            .filter_map(|codename| codename.parse::<Permission>().ok())
            .collect(),
        is_active: account.is_active,
        is_verified: account.is_verified,
        phone_number,
        birth_date: account.birth_date,
        credits: account.credits.unwrap_or(0).max(0),
        created_at: account.date_joined,
    })
}

/// The Django username, or for email-login models the address's local part.
fn username_for(account: &ForeignAccount, email: &Email) -> Result<Username, String> {
    let raw = match account.username.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => email
            .as_str()
            .split('@')
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    Username::parse(&raw).map_err(|e| format!("{e}"))
}

fn new_account(
    email: Email,
    username: Username,
    imported: Imported,
    now: time::OffsetDateTime,
) -> User {
    let created_at = imported.created_at.unwrap_or(now);
    let mut user = User::register(email, username, imported.password_hash, created_at);
    user.first_name = imported.first_name;
    user.last_name = imported.last_name;
    user.role = imported.role;
    user.permissions = imported.permissions;
    user.is_active = imported.is_active;
    user.is_verified = imported.is_verified.unwrap_or(false);
    user.phone_number = imported.phone_number;
    user.birth_date = imported.birth_date;
    user.credits = imported.credits;
    user
}

/// How a skipped row is named in the summary.
fn who(account: &ForeignAccount) -> String {
    let email = account.email.trim();
    if email.is_empty() {
        format!("id {}", account.id)
    } else {
        email.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::accounts::ports::{MockImportSource, MockPasswordHasher, MockUserRepository};
    use crate::test_support::{fixed_clock, user};

    fn account(id: i64, email: &str, username: &str, password: &str) -> ForeignAccount {
        ForeignAccount {
            id,
            email: email.into(),
            username: Some(username.into()),
            password: password.into(),
            is_active: true,
            ..ForeignAccount::default()
        }
    }

    fn source(accounts: Vec<ForeignAccount>) -> MockImportSource {
        let mut source = MockImportSource::new();
        source.expect_batch().returning(move |after, limit| {
            Ok(accounts
                .iter()
                .filter(|a| after.is_none_or(|after| a.id > after))
                .take(limit as usize)
                .cloned()
                .collect())
        });
        source
    }

    /// A hasher that calls only `pbkdf2_…` hashes imported.
    fn hasher() -> MockPasswordHasher {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_needs_upgrade()
            .returning(|hash| hash.as_str().starts_with("pbkdf2_"));
        hasher
    }

    #[tokio::test]
    async fn rows_are_decided_one_by_one_and_written_per_batch() {
        let mut existing = user("kept@example.com", "kept");
        existing.password_hash = PasswordHash::new("$2b$04$gatehouseowngatehouseown".into());
        let taken = user("other@example.com", "taken");
        let accounts = vec![
            ForeignAccount {
                is_superuser: true,
                permissions: ["can_view_users".into(), "add_logentry".into()].into(),
                ..account(1, "New@Example.com", "new", "pbkdf2_sha256$1$s$h")
            },
            account(2, "new@example.com", "again", "pbkdf2_sha256$1$s$h"),
            account(3, "not an address", "bad", "pbkdf2_sha256$1$s$h"),
            account(4, "kept@example.com", "kept", "pbkdf2_sha256$1$s$x"),
            account(5, "fresh@example.com", "taken", "pbkdf2_sha256$1$s$h"),
            ForeignAccount {
                is_superuser: true,
                ..account(6, "boss@example.com", "boss", "pbkdf2_sha256$1$s$h")
            },
        ];
        let mut users = MockUserRepository::new();
        let linked = existing.clone();
        users
            .expect_imported()
            .returning(move |_| Ok(vec![(4, linked.clone())]));
        // Someone signed up with the Django admin's address: not theirs to inherit.
        let squatter = user("boss@example.com", "squatter");
        users.expect_find_by_email().returning(move |email| {
            Ok((email.as_str() == "boss@example.com").then(|| squatter.clone()))
        });
        let holder = taken.clone();
        users
            .expect_find_by_username()
            .returning(move |name| Ok((name.normalized() == "taken").then(|| holder.clone())));
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = written.clone();
        users.expect_import().times(1).returning(move |writes, _| {
            sink.lock().unwrap().extend_from_slice(writes);
            Ok(())
        });
        let import = UserImport::new(
            Arc::new(source(accounts)),
            Arc::new(users),
            Arc::new(hasher()),
            fixed_clock(),
        );
        let mut seen = Vec::new();
        let summary = import.run(false, |n| seen.push(n)).await.unwrap();
        assert_eq!((summary.imported, summary.updated), (1, 1));
        let reasons: Vec<&str> = summary
            .skipped
            .iter()
            .map(|(who, _)| who.as_str())
            .collect();
        assert_eq!(
            reasons,
            [
                "new@example.com",
                "not an address",
                "fresh@example.com",
                "boss@example.com"
            ]
        );
        assert_eq!(seen, [6]);
        let written = written.lock().unwrap();
        let ImportWrite::Insert { user: new, .. } = &written[0] else {
            panic!("an insert first");
        };
        assert_eq!(new.role, Role::Admin);
        assert_eq!(
            new.permissions,
            [Permission::CanViewUsers].into_iter().collect(),
            "unknown codenames left behind"
        );
        let ImportWrite::Update { user, revokes, .. } = &written[1] else {
            panic!("then an update");
        };
        assert_eq!(
            user.password_hash, existing.password_hash,
            "a password Gatehouse wrote is kept"
        );
        assert!(!revokes);
        assert_eq!(written.len(), 2, "the squatter's account is not touched");
    }

    #[tokio::test]
    async fn a_dry_run_writes_nothing_and_counts_the_same() {
        let mut users = MockUserRepository::new();
        users.expect_imported().returning(|_| Ok(Vec::new()));
        users.expect_find_by_email().returning(|_| Ok(None));
        users.expect_find_by_username().returning(|_| Ok(None));
        users.expect_import().never();
        let import = UserImport::new(
            Arc::new(source(vec![account(1, "a@example.com", "alice1", "!")])),
            Arc::new(users),
            Arc::new(hasher()),
            fixed_clock(),
        );
        let summary = import.run(true, |_| {}).await.unwrap();
        assert_eq!(summary.imported, 1);
    }
}
