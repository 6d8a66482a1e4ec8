//! Users: the account entity and its value objects (email, username, role, permissions,
//! security stamp).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;

use crate::id::uuid_id;
use crate::{DomainError, NotificationPreferences, PasswordHash, PhoneNumber};

uuid_id!(
    /// The identity of a user. UUIDv7, so ids sort by creation time.
    UserId
);

/// An email address, normalised to lower case: two addresses that differ only in case are
/// the same identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    /// Longest address SMTP can carry (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses and normalises an address. The check is deliberately structural (one `@`, a
    /// non-empty local part, a dotted domain, no spaces): deliverability is proven by the
    /// verification email, not by a regular expression.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let candidate = raw.trim().to_lowercase();
        let invalid = || DomainError::new("email", "enter a valid email address");
        if candidate.is_empty() || candidate.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        if candidate
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid());
        }
        let (local, domain) = candidate.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || local.len() > 64 || domain.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(candidate))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0
            .split_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A username: 3 to 150 characters of letters, digits and `@ . + - _`. Case is kept for
/// display, but two usernames that differ only in case are the same identity (storage enforces
/// it), so nobody can register `Admin` next to `admin`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Shortest accepted username, in characters.
    pub const MIN_LEN: usize = 3;
    /// Longest accepted username, in characters.
    pub const MAX_LEN: usize = 150;

    /// Parses a username (trimmed); refused unless it is 3 to 150 characters of letters,
    /// digits and `@ . + - _`.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let candidate = raw.trim();
        let length = candidate.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&length) {
            return Err(DomainError::new(
                "username",
                format!("must be {} to {} characters", Self::MIN_LEN, Self::MAX_LEN),
            ));
        }
        if !candidate
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
        {
            return Err(DomainError::new(
                "username",
                "may contain only letters, digits and @ . + - _",
            ));
        }
        Ok(Self(candidate.to_owned()))
    }

    /// The username as entered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form that identity comparisons use.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user is, as a whole. Admins may do everything; finer grants are [`Permission`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// Full control over users and data.
    Admin,
    /// A regular account.
    #[default]
    User,
}

impl Role {
    /// The wire and storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl FromStr for Role {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            _ => Err(DomainError::new("role", "must be one of: admin, user")),
        }
    }
}

/// A single grant that lets a non-admin do one privileged thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// May create users through the admin endpoint.
    CanCreateUser,
    /// May see other users' full records (email, phone, birth date, credits, role, flags)
    /// and look accounts up by email. Without it, other users are public profiles only.
    CanViewUsers,
}

impl Permission {
    /// Every permission, for listings and documentation.
    pub const ALL: [Permission; 2] = [Permission::CanCreateUser, Permission::CanViewUsers];

    /// The wire and storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::CanCreateUser => "can_create_user",
            Permission::CanViewUsers => "can_view_users",
        }
    }
}

/// A counter that moves forward with every change to how a user signs in or what they may do:
/// a password change or reset, a deactivation or reactivation, a role or permission change,
/// a sign-out everywhere. Credentials carry the stamp they were issued under, so a sign-in
/// that read the account before such a change can be told from one that read it after,
/// without comparing anyone's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SecurityStamp(u64);

impl SecurityStamp {
    /// The stamp of an account nothing has happened to yet.
    pub const INITIAL: SecurityStamp = SecurityStamp(0);

    /// The stamp with this value.
    pub fn new(value: u64) -> Self {
        Self(value)
    }

    /// The counter, as stored and carried in credentials.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SecurityStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Permission {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or_else(|| DomainError::new("permissions", format!("unknown permission {raw:?}")))
    }
}

/// A user account: identity, password hash, access and profile in one record. Its
/// `security_stamp` and `revoked_below` decide which of its credentials still work.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// The account's id: never reused, never changes.
    pub id: UserId,
    /// Login and contact address, unique.
    pub email: Email,
    /// Login name, unique ignoring case.
    pub username: Username,
    /// The bcrypt hash of the password.
    pub password_hash: PasswordHash,
    /// Given name, may be empty.
    pub first_name: String,
    /// Family name, may be empty.
    pub last_name: String,
    /// Admin or regular user.
    pub role: Role,
    /// Grants on top of the role.
    pub permissions: BTreeSet<Permission>,
    /// Deactivated users cannot sign in and their tokens are dead.
    pub is_active: bool,
    /// Set once the user proved they own the email address.
    pub is_verified: bool,
    /// Contact number, E.164.
    pub phone_number: Option<PhoneNumber>,
    /// Date of birth.
    pub birth_date: Option<time::Date>,
    /// Optional emails the user wants.
    pub notifications: NotificationPreferences,
    /// Where the profile picture is served, once uploaded.
    pub avatar_url: Option<String>,
    /// Credit balance; changed only through the credit ledger, never negative.
    pub credits: i64,
    /// Moves with every security-relevant change (see [`SecurityStamp`]).
    pub security_stamp: SecurityStamp,
    /// Credentials issued under a stamp below this one are dead: the stamp of the last
    /// password change or reset, deactivation or sign-out everywhere (role and permission
    /// changes move the stamp but not this). Kept with the account, so it holds even if the
    /// revocation in the token store did not happen.
    pub revoked_below: SecurityStamp,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// When the account last changed.
    pub updated_at: OffsetDateTime,
}

impl User {
    /// Longest first or last name, in characters.
    pub const MAX_NAME_LEN: usize = 150;

    /// A new, active, unverified regular user.
    pub fn register(
        email: Email,
        username: Username,
        password_hash: PasswordHash,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: UserId::generate(),
            email,
            username,
            password_hash,
            first_name: String::new(),
            last_name: String::new(),
            role: Role::User,
            permissions: BTreeSet::new(),
            is_active: true,
            is_verified: false,
            phone_number: None,
            birth_date: None,
            notifications: NotificationPreferences::default(),
            avatar_url: None,
            credits: 0,
            security_stamp: SecurityStamp::INITIAL,
            revoked_below: SecurityStamp::INITIAL,
            created_at: now,
            updated_at: now,
        }
    }

    /// Checks a first or last name: trimmed, at most [`User::MAX_NAME_LEN`] characters,
    /// no control characters.
    pub fn parse_name(field: &'static str, raw: &str) -> Result<String, DomainError> {
        let name = raw.trim();
        if name.chars().count() > Self::MAX_NAME_LEN {
            return Err(DomainError::new(
                field,
                format!("must be at most {} characters", Self::MAX_NAME_LEN),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(DomainError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(name.to_owned())
    }

    /// Whether the user holds `permission`, directly or by being an admin.
    pub fn has_permission(&self, permission: Permission) -> bool {
        self.role == Role::Admin || self.permissions.contains(&permission)
    }

    /// What anyone signed in may see of this user.
    pub fn public_profile(&self) -> PublicProfile {
        PublicProfile {
            id: self.id,
            username: self.username.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            avatar_url: self.avatar_url.clone(),
        }
    }
}

/// The part of a user that other users may see: no contact details, no birth date, no
/// balance, no role, no flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicProfile {
    /// The account's id: never reused, never changes.
    pub id: UserId,
    /// Login name.
    pub username: Username,
    /// Given name, may be empty.
    pub first_name: String,
    /// Family name, may be empty.
    pub last_name: String,
    /// The profile picture, if any.
    pub avatar_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_is_normalised_to_lower_case() {
        let email = Email::parse("  Alice.Smith@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "alice.smith@example.com");
        assert_eq!(email.local_part(), "alice.smith");
    }

    #[test]
    fn email_rejects_structural_garbage() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@-x.com",
            "a@x..com",
            "a\u{0}@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
        let long_total = format!("a@{}.com", "b".repeat(260));
        assert!(Email::parse(&long_total).is_err());
    }

    #[test]
    fn username_rules() {
        assert_eq!(
            Username::parse("Alice_01").unwrap().normalized(),
            "alice_01"
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse(&"a".repeat(151)).is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse("semi;colon").is_err());
        assert!(Username::parse("ok.name+tag@x").is_ok());
    }

    #[test]
    fn roles_and_permissions_round_trip_and_reject_unknown_names() {
        for role in [Role::Admin, Role::User] {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
        for permission in Permission::ALL {
            assert_eq!(
                permission.as_str().parse::<Permission>().unwrap(),
                permission
            );
        }
        assert!("can_fly".parse::<Permission>().is_err());
    }

    #[test]
    fn admins_hold_every_permission() {
        let hash = PasswordHash::new("x".into());
        let mut user = User::register(
            Email::parse("a@b.co").unwrap(),
            Username::parse("abc").unwrap(),
            hash,
            OffsetDateTime::UNIX_EPOCH,
        );
        assert!(!user.has_permission(Permission::CanCreateUser));
        user.permissions.insert(Permission::CanCreateUser);
        assert!(user.has_permission(Permission::CanCreateUser));
        user.permissions.clear();
        user.role = Role::Admin;
        assert!(user.has_permission(Permission::CanCreateUser));
    }

    proptest! {
        #[test]
        fn parsed_emails_are_idempotent_under_reparse(local in "[A-Za-z0-9._%+-]{1,40}", domain in "[A-Za-z0-9]{1,20}\\.[A-Za-z]{2,6}") {
            let raw = format!("{local}@{domain}");
            let email = Email::parse(&raw).unwrap();
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email.clone());
            prop_assert_eq!(email.as_str(), raw.to_lowercase());
        }

        #[test]
        fn email_parse_never_panics(raw in "\\PC{0,300}") {
            let _ = Email::parse(&raw);
        }

        #[test]
        fn username_parse_accepts_exactly_the_allowed_alphabet(raw in "[a-zA-Z0-9@.+_-]{3,150}") {
            prop_assert!(Username::parse(&raw).is_ok());
        }
    }
}
