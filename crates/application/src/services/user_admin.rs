use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_domain::{AuditEventType, Email, Permission, Role, User, UserId};

use crate::pagination::{CursorCodec, Keyset, Page};
use crate::ports::{Clock, UserRepository};
use crate::services::audit::{AuditContext, Auditor};
use crate::services::policy;
use crate::{AppError, NewUserInput, Principal, Revocation, UserService, ValidationErrors};

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
}

/// The user directory and its administration: listing, lookup, creation by privileged users,
/// role and permission changes, deactivation. Every rule of who may do what is in
/// [`policy`].
pub struct UserAdminService {
    users: Arc<dyn UserRepository>,
    accounts: Arc<UserService>,
    revocation: Arc<Revocation>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    cursors: CursorCodec,
}

impl UserAdminService {
    /// Builds the service.
    pub fn new(
        users: Arc<dyn UserRepository>,
        accounts: Arc<UserService>,
        revocation: Arc<Revocation>,
        audit: Arc<Auditor>,
        clock: Arc<dyn Clock>,
        cursors: CursorCodec,
    ) -> Self {
        Self {
            users,
            accounts,
            revocation,
            audit,
            clock,
            cursors,
        }
    }

    /// One page of users, newest first.
    pub async fn list(
        &self,
        principal: &Principal,
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<Page<User>, AppError> {
        self.accounts.active_user(principal.user_id).await?;
        let cursors = self.cursors.scoped("users");
        let request = cursors.request(limit, cursor)?;
        let rows = self.users.page(&request).await?;
        Ok(Page::assemble(rows, &request, &cursors, |user| Keyset {
            created_at: user.created_at,
            id: user.id.as_uuid(),
        }))
    }

    /// One user by id.
    pub async fn get(&self, principal: &Principal, id: UserId) -> Result<User, AppError> {
        self.accounts.active_user(principal.user_id).await?;
        self.find(id).await
    }

    /// One user by email, ignoring case.
    pub async fn lookup(&self, principal: &Principal, email: &str) -> Result<User, AppError> {
        self.accounts.active_user(principal.user_id).await?;
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
        let actor = self.accounts.active_user(principal.user_id).await?;
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
    /// every session and token of the user at once.
    pub async fn update(
        &self,
        principal: &Principal,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User, AppError> {
        let (before, after) = self.apply(principal, id, patch).await?;
        if before.is_active && !after.is_active {
            self.revocation.everything(id).await?;
        }
        Ok(after)
    }

    /// Deactivates a user and ends every session and token they hold (admins only).
    /// Deactivating twice still revokes: whatever slipped through is ended now.
    pub async fn deactivate(&self, principal: &Principal, id: UserId) -> Result<(), AppError> {
        let patch = UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        };
        self.apply(principal, id, patch).await?;
        self.revocation.everything(id).await
    }

    /// Checks and saves a patch, and audits what changed; returns the user before and after.
    async fn apply(
        &self,
        principal: &Principal,
        id: UserId,
        patch: UserPatch,
    ) -> Result<(User, User), AppError> {
        let actor = self.accounts.active_user(principal.user_id).await?;
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

        let before = self.find(id).await?;
        policy::refuse_self_lockout(
            &actor,
            &before,
            role.is_some_and(|r| r != Role::Admin),
            patch.is_active == Some(false),
        )?;
        let mut after = before.clone();
        if let Some(role) = role {
            after.role = role;
        }
        if let Some(permissions) = permissions {
            after.permissions = permissions;
        }
        if let Some(active) = patch.is_active {
            after.is_active = active;
        }
        if after == before {
            return Ok((before, after));
        }
        after.updated_at = self.clock.now();
        if !self.users.update(&after).await? {
            return Err(AppError::NotFound("user"));
        }
        self.audit_changes(principal, &before, &after).await;
        Ok((before, after))
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
    use crate::ports::{
        MockPasswordHasher, MockSessionStore, MockTokenCodec, MockTokenStore, MockUserRepository,
    };
    use crate::services::test_support::{
        bearer_principal, fixed_clock, quiet_auditor, recording_auditor, sample_user,
    };
    use crate::{SessionService, SessionSettings, TokenService, TokenSettings};
    use gatehouse_domain::{PasswordHash, PasswordPolicy};

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
        repo.expect_update().returning(|_| Ok(true));
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
        UserAdminService::new(
            repo,
            accounts,
            Arc::new(Revocation::new(tokens, sessions)),
            audit,
            fixed_clock(),
            CursorCodec::new(vec![7; 32]),
        )
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
}
