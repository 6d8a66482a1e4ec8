//! User administration: listing, reading, creating, changing and deactivating accounts, each
//! behind the permission it needs, each change audited, and a deactivation followed by
//! revoking the account's credentials.

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_domain::{AuditEventType, Email, Permission, PublicProfile, Role, User, UserId};

use crate::accounts::policy;
use crate::accounts::ports::{
    AccessFields, DeviceRepository, ProfileChanges, UserFilter, UserRepository,
};
use crate::accounts::users::{NewUserInput, UserService};
use crate::credentials::revocation::Revocation;
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::pagination::{CursorCodec, Keyset, Page};
use crate::shared::ports::Clock;

/// `POST /users`: an account, optionally with a role and grants (admins only).
#[derive(Debug)]
pub struct CreateUserInput {
    /// The account fields, as at registration.
    pub account: NewUserInput,
    /// `admin` or `user`; default `user`.
    pub role: Option<String>,
    /// Permission names; default none.
    pub permissions: Option<Vec<String>>,
}

/// `PATCH /users/{id}`: what an admin may change.
#[derive(Debug, Default)]
pub struct UserPatch {
    /// New role.
    pub role: Option<String>,
    /// New permission set (replaces the old one).
    pub permissions: Option<Vec<String>>,
    /// Activate or deactivate.
    pub is_active: Option<bool>,
    /// New given name (empty clears it).
    pub first_name: Option<String>,
    /// New family name (empty clears it).
    pub last_name: Option<String>,
    /// Mark the email verified or not.
    pub is_verified: Option<bool>,
}

/// How many accounts there are, for the console's dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCounts {
    /// Every account, active or not.
    pub total: u64,
    /// Accounts created in the last seven days.
    pub new_this_week: u64,
}

/// A user as one caller may see them: the full record for the user themself, admins and
/// holders of `can_view_users`; the public profile for everyone else.
#[derive(Debug, Clone, PartialEq)]
pub enum UserView {
    /// Everything (as `/users/me` shows it).
    Full(User),
    /// Only what anyone signed in may see.
    Public(PublicProfile),
}

impl UserView {
    /// `user` as `viewer` may see them.
    pub fn of(user: User, viewer: &User) -> Self {
        if policy::may_see_everything_of(viewer, &user) {
            Self::Full(user)
        } else {
            Self::Public(user.public_profile())
        }
    }
}

/// How often an access change is retried when the account changes under it.
const CAS_ATTEMPTS: usize = 5;

/// The user directory and its administration: listing, lookup, creation by privileged users,
/// role and permission changes, deactivation. Every rule of who may do what is in
/// [`policy`].
pub struct UserAdminService {
    users: Arc<dyn UserRepository>,
    devices: Arc<dyn DeviceRepository>,
    accounts: Arc<UserService>,
    revocation: Arc<Revocation>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    cursors: CursorCodec,
}

/// The ports [`UserAdminService`] works on.
pub struct UserAdminParts {
    /// Accounts.
    pub users: Arc<dyn UserRepository>,
    /// The devices users signed in from (forgotten when an admin signs a user out).
    pub devices: Arc<dyn DeviceRepository>,
    /// Resolves callers and creates accounts.
    pub accounts: Arc<UserService>,
    /// Ends credentials.
    pub revocation: Arc<Revocation>,
    /// Records every change.
    pub audit: Arc<Auditor>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Signs page cursors.
    pub cursors: CursorCodec,
}

impl UserAdminService {
    /// User administration over `parts.users`; `accounts` resolves the caller and creates
    /// accounts, `revocation` ends the credentials of a deactivated account, and every change
    /// is audited.
    pub fn new(parts: UserAdminParts) -> Self {
        Self {
            users: parts.users,
            devices: parts.devices,
            accounts: parts.accounts,
            revocation: parts.revocation,
            audit: parts.audit,
            clock: parts.clock,
            cursors: parts.cursors,
        }
    }

    /// The directory for people who may see everything of everyone (admins and holders of
    /// `can_view_users`): one page of users matching `filter`, newest first. A cursor is
    /// bound to the filter it was made for.
    pub async fn search(
        &self,
        principal: &Principal,
        mut filter: UserFilter,
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<Page<User>, AppError> {
        let viewer = self.accounts.me(principal).await?;
        policy::require_permission(&viewer, Permission::CanViewUsers)?;
        filter.search = filter
            .search
            .map(|text| text.trim().to_lowercase())
            .filter(|text| !text.is_empty());
        if filter
            .search
            .as_ref()
            .is_some_and(|text| text.chars().count() > 254)
        {
            let mut errors = ValidationErrors::new();
            errors.add("search", "must be at most 254 characters");
            return Err(AppError::Validation(errors));
        }
        let flag = |value: Option<bool>| value.map_or("", |v| if v { "1" } else { "0" });
        let scope = format!(
            "users|{}|{}|{}|{}",
            filter.search.as_deref().unwrap_or_default(),
            filter.role.map(|role| role.as_str()).unwrap_or_default(),
            flag(filter.is_active),
            flag(filter.is_verified),
        );
        let cursors = self.cursors.scoped(&scope);
        let request = cursors.request(limit, cursor)?;
        let rows = self.accounts.directory_page(&filter, &request).await?;
        Ok(Page::assemble(rows, &request, &cursors, |user| Keyset {
            created_at: user.created_at,
            id: user.id.as_uuid(),
        }))
    }

    /// How many accounts exist, active or not, and how many are from the last week.
    pub async fn counts(&self, principal: &Principal) -> Result<UserCounts, AppError> {
        let viewer = self.accounts.me(principal).await?;
        policy::require_permission(&viewer, Permission::CanViewUsers)?;
        let week_ago = self.clock.now() - time::Duration::days(7);
        Ok(UserCounts {
            total: self.users.count(None).await?,
            new_this_week: self.users.count(Some(week_ago)).await?,
        })
    }

    /// Signs a user out everywhere (admins only): every session and token ends at once and
    /// their devices are forgotten, so the next sign-in from each is new again.
    pub async fn sign_out_everywhere(
        &self,
        principal: &Principal,
        id: UserId,
    ) -> Result<(), AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)?;
        let stamp = self
            .users
            .bump_security_stamp(id, self.clock.now())
            .await?
            .ok_or(AppError::NotFound("user"))?;
        // Recorded as soon as it took effect (the floor moved), whatever fails next.
        self.audit
            .record(
                AuditEventType::LogoutAll,
                AuditContext::by(principal, id),
                &[("devices_forgotten", "true".to_owned())],
            )
            .await;
        self.revocation.everything(id, stamp).await?;
        for device in self.devices.list(id).await? {
            self.devices.delete(id, device.id).await?;
        }
        Ok(())
    }

    /// One page of users, newest first, each as the caller may see them.
    pub async fn list(
        &self,
        principal: &Principal,
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<Page<UserView>, AppError> {
        let viewer = self.accounts.me(principal).await?;
        let cursors = self.cursors.scoped("users");
        let request = cursors.request(limit, cursor)?;
        let rows = self
            .accounts
            .directory_page(&UserFilter::default(), &request)
            .await?;
        let page = Page::assemble(rows, &request, &cursors, |user| Keyset {
            created_at: user.created_at,
            id: user.id.as_uuid(),
        });
        Ok(page.map(|user| UserView::of(user, &viewer)))
    }

    /// One user by id, as the caller may see them.
    pub async fn get(&self, principal: &Principal, id: UserId) -> Result<UserView, AppError> {
        let viewer = self.accounts.me(principal).await?;
        Ok(UserView::of(self.find(id).await?, &viewer))
    }

    /// One user by email, ignoring case: admins and holders of `can_view_users` only, so
    /// nobody else can ask which addresses have accounts.
    pub async fn lookup(&self, principal: &Principal, email: &str) -> Result<User, AppError> {
        let viewer = self.accounts.me(principal).await?;
        policy::require_permission(&viewer, Permission::CanViewUsers)?;
        let email = Email::parse(email)?;
        self.users
            .find_by_email(&email)
            .await?
            .ok_or(AppError::NotFound("user"))
    }

    /// Creates an account for someone else: admins, or holders of `can_create_user` (who may
    /// not hand out a role or permissions).
    pub async fn create(
        &self,
        principal: &Principal,
        input: CreateUserInput,
    ) -> Result<User, AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_user_creator(&actor)?;
        policy::require_grant_rights(&actor, input.role.is_some() || input.permissions.is_some())?;
        let mut errors = ValidationErrors::new();
        let role = input
            .role
            .as_deref()
            .map_or(Some(Role::User), |raw| errors.check(raw.parse()));
        let permissions = input
            .permissions
            .as_deref()
            .map_or(Some(BTreeSet::new()), |raw| {
                parse_permissions(raw, &mut errors)
            });
        let (Some(role), Some(permissions)) = (role, permissions) else {
            return Err(AppError::Validation(errors));
        };
        let user = self
            .accounts
            .create(input.account, role, permissions, false)
            .await?;
        self.audit
            .record(
                AuditEventType::UserCreated,
                AuditContext::by(principal, user.id),
                &[("role", role.as_str().to_owned())],
            )
            .await;
        Ok(user)
    }

    /// Changes a user's role, permissions or active flag (admins only). Deactivating ends
    /// every session and token of the user at once; deactivating an inactive user ends them
    /// again (the stamp moves once more), so whatever slipped through, or survived a
    /// revocation that failed halfway, is ended now.
    pub async fn update(
        &self,
        principal: &Principal,
        id: UserId,
        mut patch: UserPatch,
    ) -> Result<User, AppError> {
        let deactivates = patch.is_active == Some(false);
        let names_grant = patch.role.is_some() || patch.permissions.is_some();
        let details = Details::parse(&mut patch)?;
        if deactivates && !details.is_empty() {
            // A deactivated account's names cannot be written: refused before anything is.
            let mut errors = ValidationErrors::new();
            errors.add("is_active", "deactivate in an edit of its own");
            return Err(AppError::Validation(errors));
        }
        let (before, mut after) = self.apply(principal, id, patch).await?;
        // Credentials follow the access change before anything else can fail.
        self.follow_access_change(principal, &before, &mut after, deactivates, names_grant)
            .await?;
        if let Some(changed) = self.apply_details(principal, &after, details).await? {
            after = changed;
        }
        Ok(after)
    }

    /// Ends what an access change leaves unjustified: every credential of a deactivated
    /// user, or the tokens' grants after a role or permission change.
    async fn follow_access_change(
        &self,
        principal: &Principal,
        before: &User,
        after: &mut User,
        deactivates: bool,
        names_grant: bool,
    ) -> Result<(), AppError> {
        let id = after.id;
        if deactivates {
            if after.security_stamp == before.security_stamp {
                // Already inactive: move the stamp (and the floor) again, only while it is
                // still inactive and unchanged, so a reactivation meanwhile wins.
                let now = self.clock.now();
                let stamp = self
                    .users
                    .update_access(id, &AccessFields::of(after), after.security_stamp, now)
                    .await?
                    .ok_or_else(|| AppError::changed_meanwhile("user"))?;
                after.security_stamp = stamp;
                after.revoked_below = stamp;
                after.updated_at = now;
                self.audit
                    .record(
                        AuditEventType::UserDeactivated,
                        AuditContext::by(principal, id),
                        &[("again", "true".to_owned())],
                    )
                    .await;
            }
            self.revocation.everything(id, after.security_stamp).await?;
        } else if names_grant {
            // Also when nothing changed: a retry of a change whose marker was lost (Redis
            // failed after the account was written) must still leave it.
            self.revocation.grant_changed(id).await?;
        }
        Ok(())
    }

    /// Deactivates a user and ends every session and token they hold (admins only), as an
    /// update to `is_active: false` does.
    pub async fn deactivate(&self, principal: &Principal, id: UserId) -> Result<(), AppError> {
        let patch = UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        };
        self.update(principal, id, patch).await.map(drop)
    }

    /// Checks and saves a patch, and audits what changed; returns the user before and after.
    /// The write is a compare-and-set on the account's security stamp: the "before" it was
    /// computed from is exactly what it replaces, and the audit's from/to are true even when
    /// two admins change one user at once.
    async fn apply(
        &self,
        principal: &Principal,
        id: UserId,
        patch: UserPatch,
    ) -> Result<(User, User), AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)?;
        let mut errors = ValidationErrors::new();
        let role = patch
            .role
            .as_deref()
            .and_then(|raw| errors.check(raw.parse::<Role>()));
        let permissions = patch
            .permissions
            .as_deref()
            .and_then(|raw| parse_permissions(raw, &mut errors));
        errors.into_result()?;

        for _ in 0..CAS_ATTEMPTS {
            let before = self.find(id).await?;
            policy::refuse_self_lockout(
                &actor,
                &before,
                role.is_some_and(|r| r != Role::Admin),
                patch.is_active == Some(false),
            )?;
            let mut access = AccessFields::of(&before);
            if let Some(role) = role {
                access.role = role;
            }
            if let Some(permissions) = &permissions {
                access.permissions = permissions.clone();
            }
            if let Some(active) = patch.is_active {
                access.is_active = active;
            }
            if access == AccessFields::of(&before) {
                return Ok((before.clone(), before));
            }
            let now = self.clock.now();
            let Some(stamp) = self
                .users
                .update_access(id, &access, before.security_stamp, now)
                .await?
            else {
                continue;
            };
            let after = User {
                role: access.role,
                permissions: access.permissions,
                is_active: access.is_active,
                security_stamp: stamp,
                // As the repository moves it: a deactivation revokes, other changes do not.
                revoked_below: if access.is_active {
                    before.revoked_below
                } else {
                    stamp
                },
                updated_at: now,
                ..before.clone()
            };
            self.audit_changes(principal, &before, &after).await;
            return Ok((before, after));
        }
        Err(AppError::changed_meanwhile("user"))
    }

    /// Writes names and the verified flag (only the fields given that differ from `current`)
    /// and audits them; the user as stored afterwards, or `None` when nothing changed. Runs
    /// after [`Self::apply`], which has checked that the caller is an admin.
    async fn apply_details(
        &self,
        principal: &Principal,
        current: &User,
        mut details: Details,
    ) -> Result<Option<User>, AppError> {
        let id = current.id;
        details.names.first_name = details
            .names
            .first_name
            .filter(|n| *n != current.first_name);
        details.names.last_name = details.names.last_name.filter(|n| *n != current.last_name);
        details.is_verified = details.is_verified.filter(|v| *v != current.is_verified);
        if details.is_empty() {
            return Ok(None);
        }
        let now = self.clock.now();
        let mut fields = Vec::new();
        if details.names.first_name.is_some() || details.names.last_name.is_some() {
            if !self.users.update_profile(id, &details.names, now).await? {
                return Err(AppError::Conflict {
                    field: "is_active",
                    message: "names of a deactivated account cannot change; activate it first"
                        .into(),
                });
            }
            fields.extend(details.names.first_name.as_ref().map(|_| "first_name"));
            fields.extend(details.names.last_name.as_ref().map(|_| "last_name"));
        }
        if let Some(verified) = details.is_verified {
            if !self.users.set_verified(id, verified, now).await? {
                return Err(AppError::NotFound("user"));
            }
            fields.push("is_verified");
        }
        let mut data = vec![("fields", fields.join(","))];
        data.extend(details.is_verified.map(|v| ("is_verified", v.to_string())));
        self.audit
            .record(
                AuditEventType::ProfileUpdated,
                AuditContext::by(principal, id),
                &data,
            )
            .await;
        self.find(id).await.map(Some)
    }

    async fn find(&self, id: UserId) -> Result<User, AppError> {
        self.users
            .find_by_id(id)
            .await?
            .ok_or(AppError::NotFound("user"))
    }

    async fn audit_changes(&self, principal: &Principal, before: &User, after: &User) {
        let context = || AuditContext::by(principal, after.id);
        if before.role != after.role {
            let data = [
                ("from", before.role.as_str().to_owned()),
                ("to", after.role.as_str().to_owned()),
            ];
            self.audit
                .record(AuditEventType::RoleChanged, context(), &data)
                .await;
        }
        if before.permissions != after.permissions {
            let names = |set: &BTreeSet<Permission>| {
                set.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",")
            };
            let data = [
                ("from", names(&before.permissions)),
                ("to", names(&after.permissions)),
            ];
            self.audit
                .record(AuditEventType::PermissionsChanged, context(), &data)
                .await;
        }
        match (before.is_active, after.is_active) {
            (true, false) => {
                self.audit
                    .record(AuditEventType::UserDeactivated, context(), &[])
                    .await
            }
            (false, true) => {
                self.audit
                    .record(AuditEventType::UserReactivated, context(), &[])
                    .await
            }
            _ => {}
        }
    }
}

/// The non-access part of an admin's edit, checked before anything is written.
struct Details {
    names: ProfileChanges,
    is_verified: Option<bool>,
}

impl Details {
    /// Takes names and the verified flag out of `patch`, checking the names.
    fn parse(patch: &mut UserPatch) -> Result<Self, AppError> {
        let mut errors = ValidationErrors::new();
        let mut name = |field, raw: Option<String>| {
            raw.map(|raw| {
                errors
                    .check(User::parse_name(field, &raw))
                    .unwrap_or_default()
            })
        };
        let names = ProfileChanges {
            first_name: name("first_name", patch.first_name.take()),
            last_name: name("last_name", patch.last_name.take()),
            ..ProfileChanges::default()
        };
        errors.into_result()?;
        Ok(Self {
            names,
            is_verified: patch.is_verified.take(),
        })
    }

    fn is_empty(&self) -> bool {
        self.names == ProfileChanges::default() && self.is_verified.is_none()
    }
}

fn parse_permissions(
    raw: &[String],
    errors: &mut ValidationErrors,
) -> Option<BTreeSet<Permission>> {
    let parsed: Vec<_> = raw
        .iter()
        .map(|name| errors.check(name.parse::<Permission>()))
        .collect();
    parsed.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ports::{MockDeviceRepository, MockPasswordHasher, MockUserRepository};
    use crate::credentials::ports::{MockSessionStore, MockTokenCodec, MockTokenStore};
    use crate::credentials::sessions::{SessionService, SessionSettings};
    use crate::credentials::tokens::{TokenService, TokenSettings};
    use crate::test_support::{
        bearer_principal, fixed_clock, quiet_auditor, recording_auditor, sample_user,
    };
    use gatehouse_domain::{PasswordHash, PasswordPolicy, SecurityStamp};

    fn user_with(role: Role, permissions: &[Permission]) -> User {
        let mut user = sample_user();
        user.id = UserId::generate();
        user.role = role;
        user.permissions = permissions.iter().copied().collect();
        user
    }

    /// A repository holding `users`, accepting inserts and updates.
    fn repository(users: Vec<User>) -> MockUserRepository {
        let mut repo = MockUserRepository::new();
        repo.expect_find_by_id()
            .returning(move |id| Ok(users.iter().find(|u| u.id == id).cloned()));
        repo.expect_insert().returning(|_| Ok(()));
        repo.expect_update_access()
            .returning(|_, _, expected, _| Ok(Some(SecurityStamp::new(expected.get() + 1))));
        repo.expect_bump_security_stamp()
            .returning(|_, _| Ok(Some(SecurityStamp::new(99))));
        repo
    }

    fn revoking_stores() -> (MockTokenStore, MockSessionStore) {
        let mut tokens = MockTokenStore::new();
        tokens
            .expect_revoke_user()
            .times(1..)
            .returning(|_, _, _| Ok(()));
        let mut sessions = MockSessionStore::new();
        sessions
            .expect_remove_all_for_user()
            .times(1..)
            .returning(|_, _| Ok(()));
        (tokens, sessions)
    }

    fn service_with(
        repo: MockUserRepository,
        stores: (MockTokenStore, MockSessionStore),
        audit: Arc<Auditor>,
    ) -> UserAdminService {
        let repo: Arc<dyn UserRepository> = Arc::new(repo);
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$2b$04$hash".into())));
        let accounts = Arc::new(UserService::new(
            repo.clone(),
            Arc::new(hasher),
            fixed_clock(),
            PasswordPolicy::default(),
        ));
        let tokens = Arc::new(TokenService::new(
            Arc::new(MockTokenCodec::new()),
            Arc::new(stores.0),
            fixed_clock(),
            TokenSettings::default(),
        ));
        let sessions = Arc::new(SessionService::new(
            Arc::new(stores.1),
            fixed_clock(),
            SessionSettings::default(),
        ));
        UserAdminService::new(UserAdminParts {
            users: repo,
            devices: Arc::new(MockDeviceRepository::new()),
            accounts,
            revocation: Arc::new(Revocation::new(tokens, sessions)),
            audit,
            clock: fixed_clock(),
            cursors: CursorCodec::new(vec![7; 32]),
        })
    }

    fn service(repo: MockUserRepository) -> UserAdminService {
        let stores = (MockTokenStore::new(), MockSessionStore::new());
        service_with(repo, stores, quiet_auditor())
    }

    fn new_account(role: Option<&str>, permissions: Option<Vec<String>>) -> CreateUserInput {
        CreateUserInput {
            account: NewUserInput {
                email: "new@example.com".into(),
                username: "newbie".into(),
                password: "violet-tractor-42".into(),
                password_confirm: "violet-tractor-42".into(),
                first_name: None,
                last_name: None,
            },
            role: role.map(Into::into),
            permissions,
        }
    }

    #[tokio::test]
    async fn who_may_create_users() {
        let plain = user_with(Role::User, &[]);
        let creator = user_with(Role::User, &[Permission::CanCreateUser]);
        let admin = user_with(Role::Admin, &[]);
        let service = service(repository(vec![
            plain.clone(),
            creator.clone(),
            admin.clone(),
        ]));

        let refused = service
            .create(&bearer_principal(plain.id), new_account(None, None))
            .await;
        assert!(matches!(refused, Err(AppError::PermissionDenied)));

        let created = service
            .create(&bearer_principal(creator.id), new_account(None, None))
            .await
            .unwrap();
        assert_eq!(created.role, Role::User);

        // A creator cannot hand out what it may not grant.
        for (role, permissions) in [
            (Some("admin"), None),
            (None, Some(vec!["can_create_user".to_owned()])),
        ] {
            let escalation = service
                .create(
                    &bearer_principal(creator.id),
                    new_account(role, permissions),
                )
                .await;
            assert!(matches!(escalation, Err(AppError::PermissionDenied)));
        }

        let promoted = service
            .create(
                &bearer_principal(admin.id),
                new_account(Some("admin"), Some(vec!["can_create_user".into()])),
            )
            .await
            .unwrap();
        assert_eq!(promoted.role, Role::Admin);
        assert!(promoted.permissions.contains(&Permission::CanCreateUser));
    }

    #[tokio::test]
    async fn only_admins_change_users_and_unknown_names_are_invalid() {
        let plain = user_with(Role::User, &[]);
        let admin = user_with(Role::Admin, &[]);
        let service = service(repository(vec![plain.clone(), admin.clone()]));
        let promote = || UserPatch {
            role: Some("admin".into()),
            ..UserPatch::default()
        };
        let refused = service
            .update(&bearer_principal(plain.id), plain.id, promote())
            .await;
        assert!(matches!(refused, Err(AppError::PermissionDenied)));
        let bad = UserPatch {
            role: Some("root".into()),
            permissions: Some(vec!["can_fly".into()]),
            ..UserPatch::default()
        };
        let Err(AppError::Validation(errors)) = service
            .update(&bearer_principal(admin.id), plain.id, bad)
            .await
        else {
            panic!("expected a validation error");
        };
        assert!(
            errors.fields().contains_key("role") && errors.fields().contains_key("permissions")
        );
        let missing = service
            .update(&bearer_principal(admin.id), UserId::generate(), promote())
            .await;
        assert!(matches!(missing, Err(AppError::NotFound(_))));
    }

    #[tokio::test]
    async fn admins_cannot_lock_themselves_out() {
        let admin = user_with(Role::Admin, &[]);
        let service = service(repository(vec![admin.clone()]));
        let me = bearer_principal(admin.id);
        let demote = UserPatch {
            role: Some("user".into()),
            ..UserPatch::default()
        };
        assert!(matches!(
            service.update(&me, admin.id, demote).await,
            Err(AppError::Conflict { field: "role", .. })
        ));
        assert!(matches!(
            service.deactivate(&me, admin.id).await,
            Err(AppError::Conflict {
                field: "is_active",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn deactivation_revokes_everything_and_is_audited() {
        let target = user_with(Role::User, &[]);
        let admin = user_with(Role::Admin, &[]);
        let (audit, events) = recording_auditor();
        let service = service_with(
            repository(vec![target.clone(), admin.clone()]),
            revoking_stores(),
            audit,
        );
        service
            .deactivate(&bearer_principal(admin.id), target.id)
            .await
            .unwrap();
        let events = events.lock().unwrap();
        let deactivated = events
            .iter()
            .find(|e| e.kind == AuditEventType::UserDeactivated)
            .expect("a user_deactivated event");
        assert_eq!(deactivated.user, Some(target.id));
        assert_eq!(deactivated.actor, Some(admin.id));
    }

    #[tokio::test]
    async fn names_cannot_ride_along_with_a_deactivation() {
        let target = user_with(Role::User, &[]);
        let admin = user_with(Role::Admin, &[]);
        // Nothing may be written: the repository expects no update at all.
        let mut repo = MockUserRepository::new();
        let users = [admin.clone(), target.clone()];
        repo.expect_find_by_id()
            .returning(move |id| Ok(users.iter().find(|u| u.id == id).cloned()));
        let patch = UserPatch {
            is_active: Some(false),
            first_name: Some("Ada".into()),
            ..UserPatch::default()
        };
        let refused = service(repo)
            .update(&bearer_principal(admin.id), target.id, patch)
            .await;
        assert!(
            matches!(refused, Err(AppError::Validation(_))),
            "{refused:?}"
        );
    }

    #[tokio::test]
    async fn a_deactivated_caller_can_do_nothing() {
        let mut admin = user_with(Role::Admin, &[]);
        admin.is_active = false;
        let service = service(repository(vec![admin.clone()]));
        let caller = bearer_principal(admin.id);
        assert!(matches!(
            service.get(&caller, admin.id).await,
            Err(AppError::NotAuthenticated)
        ));
        assert!(matches!(
            service.deactivate(&caller, UserId::generate()).await,
            Err(AppError::NotAuthenticated)
        ));
    }

    #[tokio::test]
    async fn strangers_see_public_profiles_and_cannot_look_addresses_up() {
        let plain = user_with(Role::User, &[]);
        let viewer = user_with(Role::User, &[Permission::CanViewUsers]);
        let admin = user_with(Role::Admin, &[]);
        let target = user_with(Role::User, &[]);
        let mut repo = repository(vec![
            plain.clone(),
            viewer.clone(),
            admin.clone(),
            target.clone(),
        ]);
        let found = target.clone();
        repo.expect_find_by_email()
            .returning(move |_| Ok(Some(found.clone())));
        let service = service(repo);
        let seen = |who: &User| {
            let principal = bearer_principal(who.id);
            let service = &service;
            let target = target.id;
            async move { service.get(&principal, target).await.unwrap() }
        };
        assert_eq!(
            seen(&plain).await,
            UserView::Public(target.public_profile())
        );
        for full in [&viewer, &admin, &target] {
            assert_eq!(seen(full).await, UserView::Full(target.clone()));
        }
        let refused = service
            .lookup(&bearer_principal(plain.id), "jane@example.com")
            .await;
        assert!(matches!(refused, Err(AppError::PermissionDenied)));
        for allowed in [&viewer, &admin] {
            let found = service
                .lookup(&bearer_principal(allowed.id), "jane@example.com")
                .await
                .unwrap();
            assert_eq!(found.id, target.id);
        }
    }

    /// An admin's change is a compare-and-set on the stamp: when the account changed between
    /// the read and the write, it is read again and the change made on what is there now.
    #[tokio::test]
    async fn an_access_change_is_retried_on_the_account_as_it_is_now() {
        let admin = user_with(Role::Admin, &[]);
        let target = user_with(Role::User, &[]);
        let mut repo = MockUserRepository::new();
        let users = [admin.clone(), target.clone()];
        repo.expect_find_by_id()
            .returning(move |id| Ok(users.iter().find(|u| u.id == id).cloned()));
        let mut seq = mockall::Sequence::new();
        repo.expect_update_access()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(None));
        repo.expect_update_access()
            .withf(|_, access, _, _| access.permissions.contains(&Permission::CanViewUsers))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _, _| Ok(Some(SecurityStamp::new(7))));
        let patch = UserPatch {
            permissions: Some(vec!["can_view_users".into()]),
            ..UserPatch::default()
        };
        // The grant changed: services trusting tokens' grants are told, once.
        let mut tokens = MockTokenStore::new();
        let user = target.id;
        tokens
            .expect_mark_grant_changed()
            .withf(move |id, _, _| *id == user)
            .times(1)
            .returning(|_, _, _| Ok(()));
        let after = service_with(repo, (tokens, MockSessionStore::new()), quiet_auditor())
            .update(&bearer_principal(admin.id), target.id, patch)
            .await
            .unwrap();
        assert_eq!(after.security_stamp, SecurityStamp::new(7));
        assert!(after.permissions.contains(&Permission::CanViewUsers));
    }
}
