//! Who may do what: the authorization rules of the user-management use cases, in one place.

use gatehouse_domain::{Permission, Role, User, UserId};

use crate::shared::error::AppError;

/// Admin-only use cases.
pub(crate) fn require_admin(actor: &User) -> Result<(), AppError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::PermissionDenied)
    }
}

/// Changing something a user owns: its owner, or an admin.
pub(crate) fn require_owner_or_admin(actor: &User, owner: UserId) -> Result<(), AppError> {
    if actor.id == owner {
        Ok(())
    } else {
        require_admin(actor)
    }
}

/// Use cases behind one grant: admins, and holders of `permission`.
pub(crate) fn require_permission(actor: &User, permission: Permission) -> Result<(), AppError> {
    if actor.has_permission(permission) {
        Ok(())
    } else {
        Err(AppError::PermissionDenied)
    }
}

/// Whether `viewer` may see all of `user`'s record (email, phone, birth date, credits, role,
/// flags): their own, or with `can_view_users` (admins hold every permission).
pub(crate) fn may_see_everything_of(viewer: &User, user: &User) -> bool {
    viewer.id == user.id || viewer.has_permission(Permission::CanViewUsers)
}

/// Creating accounts: admins, and holders of `can_create_user`.
pub(crate) fn require_user_creator(actor: &User) -> Result<(), AppError> {
    require_permission(actor, Permission::CanCreateUser)
}

/// Handing out a role or permissions is an admin's act even inside account creation: a
/// `can_create_user` holder creates regular users only, or they could mint admins.
pub(crate) fn require_grant_rights(actor: &User, grants_anything: bool) -> Result<(), AppError> {
    if grants_anything {
        require_admin(actor)
    } else {
        Ok(())
    }
}

/// An admin may not demote or deactivate themselves: the last admin could lock everyone out.
pub(crate) fn refuse_self_lockout(
    actor: &User,
    target: &User,
    demotes: bool,
    deactivates: bool,
) -> Result<(), AppError> {
    if actor.id != target.id {
        return Ok(());
    }
    let field = match (demotes, deactivates) {
        (true, _) => "role",
        (_, true) => "is_active",
        _ => return Ok(()),
    };
    Err(AppError::Conflict {
        field,
        message: "admins cannot demote or deactivate their own account".into(),
    })
}
