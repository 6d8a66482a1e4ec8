//! What the audit log records.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

macro_rules! audit_event_types {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// The kinds of security-relevant event the audit log keeps.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditEventType {
            $(#[doc = $doc] $variant,)*
        }

        impl AuditEventType {
            /// Every type, in documentation order.
            pub const ALL: &'static [AuditEventType] = &[$(AuditEventType::$variant,)*];

            /// The wire and storage name.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(AuditEventType::$variant => $name,)*
                }
            }
        }
    };
}

audit_event_types! {
    UserRegistered => "user_registered", "Self-service sign-up.";
    UserCreated => "user_created", "An account created by an admin or a `can_create_user` holder.";
    LoginSucceeded => "login_succeeded", "A password login (token or session) succeeded.";
    LoginFailed => "login_failed", "A password was checked and refused (wrong password, unknown account), or the account is disabled.";
    LoginThrottled => "login_throttled", "Attempts for an account or from an address were refused past their limit; at most one event per account or address per window.";
    Logout => "logout", "One credential ended.";
    LogoutAll => "logout_all", "Every credential of the user ended.";
    TokenRefreshed => "token_refreshed", "A refresh token was rotated.";
    RefreshReuseDetected => "refresh_reuse_detected", "A rotated refresh token came back: its family was revoked.";
    PasswordChanged => "password_changed", "The user changed their password.";
    PasswordResetRequested => "password_reset_requested", "A reset email was requested for an existing account.";
    PasswordReset => "password_reset", "A password was reset with an emailed token.";
    EmailVerified => "email_verified", "The user proved they own their address.";
    ProfileUpdated => "profile_updated", "Profile fields changed.";
    AvatarChanged => "avatar_changed", "A new profile picture.";
    RoleChanged => "role_changed", "An admin changed a user's role.";
    PermissionsChanged => "permissions_changed", "An admin changed a user's permissions.";
    UserDeactivated => "user_deactivated", "An admin deactivated an account.";
    UserReactivated => "user_reactivated", "An admin reactivated an account.";
    DeviceRevoked => "device_revoked", "A device and its credentials were revoked.";
    CreditsChanged => "credits_changed", "An admin granted or spent credits.";
    MfaEnabled => "mfa_enabled", "The user confirmed an authenticator app (TOTP); recovery codes were issued.";
    MfaDisabled => "mfa_disabled", "The user removed their authenticator app.";
    MfaReset => "mfa_reset", "An admin removed every second factor of a user.";
    RecoveryCodesRegenerated => "recovery_codes_regenerated", "The user replaced their recovery codes; the earlier ones died.";
    PasskeyAdded => "passkey_added", "The user registered a passkey.";
    PasskeyRemoved => "passkey_removed", "The user removed a passkey.";
    MfaFailed => "mfa_failed", "A second-factor code or passkey assertion was refused during sign-in.";
    CatalogChanged => "catalog_changed", "A category or product was created, changed or deleted.";
    JobRetried => "job_retried", "An admin put a failed job back in the queue.";
    JobRevoked => "job_revoked", "A job was revoked before it finished.";
    PreRegistrationsExported => "pre_registrations_exported", "An admin downloaded the pre-registration list.";
}

impl FromStr for AuditEventType {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| DomainError::new("type", format!("unknown event type {raw:?}")))
    }
}

impl fmt::Display for AuditEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for kind in AuditEventType::ALL {
            assert_eq!(kind.as_str().parse::<AuditEventType>().unwrap(), *kind);
            assert!(seen.insert(kind.as_str()));
        }
        assert!("sudo".parse::<AuditEventType>().is_err());
    }
}
