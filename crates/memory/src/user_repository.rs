use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{
    AccessFields, ImportWrite, InsertUserError, ProfileChanges, UserFilter, UserRepository,
};
use gatehouse_domain::{Email, PasswordHash, SecurityStamp, User, UserId, Username};
use time::OffsetDateTime;

use crate::keyset;
use crate::locked::Shared;

#[derive(Debug, Default)]
pub(crate) struct Users {
    pub(crate) by_id: HashMap<UserId, User>,
    /// Which account each imported source id became.
    pub(crate) imported: HashMap<i64, UserId>,
}

impl Users {
    /// Why `user` cannot join `self` (and `batch`, users stored in the same call).
    fn conflict(&self, batch: &[&User], user: &User) -> Option<InsertUserError> {
        let others = || self.by_id.values().chain(batch.iter().copied());
        if others().any(|u| u.email == user.email) {
            return Some(InsertUserError::EmailTaken);
        }
        let name = user.username.normalized();
        if others().any(|u| u.username.normalized() == name) {
            return Some(InsertUserError::UsernameTaken);
        }
        if others().any(|u| u.id == user.id) {
            return Some(InsertUserError::Unavailable(anyhow::anyhow!(
                "a user with this id exists"
            )));
        }
        None
    }

    /// Moves the stamp forward (and, when the change `revokes`, the revocation floor up to
    /// it); the new stamp.
    fn restamp(user: &mut User, revokes: bool, at: OffsetDateTime) -> SecurityStamp {
        user.security_stamp = SecurityStamp::new(user.security_stamp.get() + 1);
        if revokes {
            user.revoked_below = user.security_stamp;
        }
        user.updated_at = at;
        user.security_stamp
    }
}

/// [`UserRepository`] in process memory. Emails are unique, usernames unique ignoring case,
/// and every write is one step under the lock with the same conditions as the SQL adapter
/// (active user, expected hash or stamp), so compare-and-set holds here too.
#[derive(Clone, Default)]
pub struct InMemoryUserRepository {
    pub(crate) state: Shared<Users>,
}

impl InMemoryUserRepository {
    /// No users yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Users) -> T) -> anyhow::Result<T> {
        self.state.with(f)
    }

    /// Runs `f` on the active user `id`; `None` when there is none.
    fn with_active<T>(
        &self,
        id: UserId,
        f: impl FnOnce(&mut User) -> T,
    ) -> anyhow::Result<Option<T>> {
        self.with(|users| users.by_id.get_mut(&id).filter(|u| u.is_active).map(f))
    }

    fn find(&self, matches: impl Fn(&User) -> bool) -> anyhow::Result<Option<User>> {
        self.with(|users| users.by_id.values().find(|u| matches(u)).cloned())
    }
}

#[async_trait]
impl UserRepository for InMemoryUserRepository {
    async fn insert(&self, user: &User) -> Result<(), InsertUserError> {
        self.with(|users| match users.conflict(&[], user) {
            Some(conflict) => Err(conflict),
            None => {
                users.by_id.insert(user.id, user.clone());
                Ok(())
            }
        })?
    }

    async fn find_by_id(&self, id: UserId) -> anyhow::Result<Option<User>> {
        self.with(|users| users.by_id.get(&id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> anyhow::Result<Option<User>> {
        self.find(|u| u.email == *email)
    }

    async fn find_by_username(&self, username: &Username) -> anyhow::Result<Option<User>> {
        let name = username.normalized();
        self.find(|u| u.username.normalized() == name)
    }

    async fn insert_many(&self, new: &[User]) -> Result<(), InsertUserError> {
        // All or nothing, like one multi-row INSERT.
        self.with(|users| {
            for (i, user) in new.iter().enumerate() {
                let earlier: Vec<&User> = new[..i].iter().collect();
                if let Some(conflict) = users.conflict(&earlier, user) {
                    return Err(conflict);
                }
            }
            for user in new {
                users.by_id.insert(user.id, user.clone());
            }
            Ok(())
        })?
    }

    async fn update_profile(
        &self,
        id: UserId,
        changes: &ProfileChanges,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let written = self.with_active(id, |user| {
            if let Some(name) = &changes.first_name {
                user.first_name = name.clone();
            }
            if let Some(name) = &changes.last_name {
                user.last_name = name.clone();
            }
            if let Some(phone) = &changes.phone_number {
                user.phone_number = phone.clone();
            }
            if let Some(date) = changes.birth_date {
                user.birth_date = date;
            }
            if let Some(on) = changes.security_emails {
                user.notifications.security_emails = on;
            }
            if let Some(on) = changes.product_emails {
                user.notifications.product_emails = on;
            }
            user.updated_at = at;
        })?;
        Ok(written.is_some())
    }

    async fn set_avatar_url(
        &self,
        id: UserId,
        url: &str,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        let written = self.with_active(id, |user| {
            user.avatar_url = Some(url.to_owned());
            user.updated_at = at;
        })?;
        Ok(written.is_some())
    }

    async fn mark_verified(&self, id: UserId, at: OffsetDateTime) -> anyhow::Result<bool> {
        let written = self.with_active(id, |user| {
            user.is_verified = true;
            user.updated_at = at;
        })?;
        Ok(written.is_some())
    }

    async fn set_password<'a>(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: Option<&'a PasswordHash>,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        let written = self.with_active(id, |user| {
            if expected.is_some_and(|old| old.as_str() != user.password_hash.as_str()) {
                return None;
            }
            user.password_hash = hash.clone();
            Some(Users::restamp(user, true, at))
        })?;
        Ok(written.flatten())
    }

    async fn update_access(
        &self,
        id: UserId,
        access: &AccessFields,
        expected: SecurityStamp,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        self.with(|users| {
            let user = users
                .by_id
                .get_mut(&id)
                .filter(|u| u.security_stamp == expected)?;
            user.role = access.role;
            user.permissions = access.permissions.clone();
            user.is_active = access.is_active;
            Some(Users::restamp(user, !access.is_active, at))
        })
    }

    async fn bump_security_stamp(
        &self,
        id: UserId,
        at: OffsetDateTime,
    ) -> anyhow::Result<Option<SecurityStamp>> {
        self.with(|users| {
            let user = users.by_id.get_mut(&id)?;
            Some(Users::restamp(user, true, at))
        })
    }

    async fn upgrade_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        expected: &PasswordHash,
    ) -> anyhow::Result<bool> {
        self.with(|users| match users.by_id.get_mut(&id) {
            Some(user) if user.password_hash.as_str() == expected.as_str() => {
                user.password_hash = hash.clone();
                true
            }
            _ => false,
        })
    }

    async fn imported(&self, source_ids: &[i64]) -> anyhow::Result<Vec<(i64, User)>> {
        self.with(|users| {
            source_ids
                .iter()
                .filter_map(|id| {
                    let user = users.imported.get(id).and_then(|u| users.by_id.get(u))?;
                    Some((*id, user.clone()))
                })
                .collect()
        })
    }

    async fn import(
        &self,
        writes: &[ImportWrite],
        at: OffsetDateTime,
    ) -> Result<(), InsertUserError> {
        // All or nothing: the writes go to a copy, which replaces the users only if all hold.
        self.with(|users| {
            let mut next = Users {
                by_id: users.by_id.clone(),
                imported: users.imported.clone(),
            };
            for write in writes {
                match write {
                    ImportWrite::Insert { user, source_id } => {
                        if let Some(conflict) = next.conflict(&[], user) {
                            return Err(conflict);
                        }
                        if next.imported.contains_key(source_id) {
                            return Err(InsertUserError::Unavailable(anyhow::anyhow!(
                                "source account {source_id} was imported already"
                            )));
                        }
                        next.by_id.insert(user.id, user.clone());
                        next.imported.insert(*source_id, user.id);
                    }
                    ImportWrite::Update {
                        user,
                        expected,
                        expected_hash,
                        access_changed,
                        revokes,
                    } => {
                        let Some(stored) = next.by_id.get_mut(&user.id).filter(|u| {
                            u.security_stamp == *expected && u.password_hash == *expected_hash
                        }) else {
                            return Err(InsertUserError::Unavailable(anyhow::anyhow!(
                                "{} changed while it was being imported",
                                user.email.as_str()
                            )));
                        };
                        stored.first_name = user.first_name.clone();
                        stored.last_name = user.last_name.clone();
                        stored.password_hash = user.password_hash.clone();
                        stored.role = user.role;
                        stored.permissions = user.permissions.clone();
                        stored.is_active = user.is_active;
                        stored.is_verified = user.is_verified;
                        stored.phone_number = user.phone_number.clone();
                        stored.birth_date = user.birth_date;
                        stored.updated_at = at;
                        if *access_changed {
                            Users::restamp(stored, *revokes, at);
                        }
                    }
                }
            }
            *users = next;
            Ok(())
        })?
    }

    async fn set_verified(
        &self,
        id: UserId,
        verified: bool,
        at: OffsetDateTime,
    ) -> anyhow::Result<bool> {
        // An admin's correction: it applies to deactivated accounts too.
        self.with(|users| match users.by_id.get_mut(&id) {
            Some(user) => {
                user.is_verified = verified;
                user.updated_at = at;
                true
            }
            None => false,
        })
    }

    async fn page(&self, filter: &UserFilter, request: &PageRequest) -> anyhow::Result<Vec<User>> {
        self.with(|users| {
            keyset::page(
                users.by_id.values().filter(|u| matches(u, filter)).cloned(),
                |u| (u.created_at, u.id.as_uuid()),
                request,
            )
        })
    }

    async fn count(&self, created_since: Option<OffsetDateTime>) -> anyhow::Result<u64> {
        self.with(|users| {
            users
                .by_id
                .values()
                .filter(|u| created_since.is_none_or(|since| u.created_at >= since))
                .count() as u64
        })
    }
}

/// Whether `user` belongs on a directory page of `filter`; the search ignores case as SQL's
/// `lower(...) LIKE` does, and takes every character literally.
fn matches(user: &User, filter: &UserFilter) -> bool {
    let contains = |text: &str, needle: &str| text.to_lowercase().contains(needle);
    filter.search.as_deref().is_none_or(|text| {
        let needle = text.to_lowercase();
        contains(user.email.as_str(), &needle) || contains(user.username.as_str(), &needle)
    }) && filter.role.is_none_or(|role| user.role == role)
        && filter
            .is_active
            .is_none_or(|active| user.is_active == active)
        && filter
            .is_verified
            .is_none_or(|verified| user.is_verified == verified)
}
