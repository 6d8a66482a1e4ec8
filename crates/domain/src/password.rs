//! Passwords: the policy a new password must meet, and the hash that is stored in its place.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use crate::{DomainError, Email, Username};

/// The common-password list, lower case (see `data/README.md` for its source).
static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .collect()
});

/// A plain-text password that passed the [`PasswordPolicy`]. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password that has just matched its account's stored hash. It is the account's
    /// password already, so the policy for new passwords does not apply: this is only for
    /// re-hashing it in a stronger format (an account imported with a Django hash).
    pub fn proven(candidate: &str) -> Self {
        Self(candidate.to_owned())
    }

    /// The password itself, for the hasher and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A stored password hash (bcrypt's modular crypt format). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash produced by the hasher or read from storage.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The encoded hash (algorithm, cost and salt included), as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The password rules of API.md: long enough, short enough for bcrypt without truncation,
/// not common, not all digits, not too close to the account's own names. No composition
/// rules: they push people to `Password1!` and add nothing.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_chars: usize,
    /// Most bytes. bcrypt reads only the first 72 bytes, so a longer password would be
    /// silently truncated: it is refused instead.
    pub max_bytes: usize,
    /// Similarity (Sørensen–Dice over bigrams, 0..=1) to the email or username at or above
    /// which a password is refused.
    pub max_similarity: f64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 8,
            max_bytes: 72,
            max_similarity: 0.7,
        }
    }
}

impl PasswordPolicy {
    /// Checks `candidate` for an account with this email and username, reporting every rule
    /// it breaks under the field `password`.
    pub fn check(
        &self,
        candidate: &str,
        email: &Email,
        username: &Username,
    ) -> Result<Password, DomainError> {
        let mut messages = self.intrinsic_problems(candidate);
        if self.too_similar(&candidate.trim().to_lowercase(), email, username) {
            messages.push("is too similar to the email or username".to_owned());
        }
        Self::verdict(candidate, messages)
    }

    /// Checks the rules that need no account (length, numeric, common): for reporting
    /// password problems even when the email or username is itself invalid.
    pub fn check_standalone(&self, candidate: &str) -> Result<Password, DomainError> {
        Self::verdict(candidate, self.intrinsic_problems(candidate))
    }

    fn verdict(candidate: &str, messages: Vec<String>) -> Result<Password, DomainError> {
        if messages.is_empty() {
            Ok(Password(candidate.to_owned()))
        } else {
            Err(DomainError {
                field: "password",
                messages,
            })
        }
    }

    fn intrinsic_problems(&self, candidate: &str) -> Vec<String> {
        let mut messages = Vec::new();
        if candidate.chars().count() < self.min_chars {
            messages.push(format!("must be at least {} characters", self.min_chars));
        }
        if candidate.len() > self.max_bytes {
            messages.push(format!("must be at most {} bytes", self.max_bytes));
        }
        if !candidate.is_empty() && candidate.chars().all(char::is_numeric) {
            messages.push("must not be entirely numeric".to_owned());
        }
        if COMMON_PASSWORDS.contains(candidate.trim().to_lowercase().as_str()) {
            messages.push("is too common".to_owned());
        }
        messages
    }

    fn too_similar(&self, folded: &str, email: &Email, username: &Username) -> bool {
        let username = username.normalized();
        let attributes = [email.as_str(), email.local_part(), username.as_str()];
        attributes
            .into_iter()
            .flat_map(|attr| {
                std::iter::once(attr).chain(attr.split(|c: char| !c.is_alphanumeric()))
            })
            .filter(|part| part.chars().count() >= 3)
            .any(|part| {
                folded == part || strsim::sorensen_dice(folded, part) >= self.max_similarity
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(password: &str) -> Result<Password, DomainError> {
        PasswordPolicy::default().check(
            password,
            &Email::parse("jane.doe@example.com").unwrap(),
            &Username::parse("janedoe").unwrap(),
        )
    }

    #[test]
    fn accepts_a_long_unusual_passphrase() {
        assert!(check("correct horse battery staple").is_ok());
    }

    #[test]
    fn length_bounds() {
        assert!(check("x7#kq!p").unwrap_err().messages[0].contains("at least 8"));
        assert!(check("x7#kq!pz").is_ok());
        assert!(
            check(&"ab1!".repeat(18)).is_ok(),
            "72 bytes is the maximum, inclusive"
        );
        let err = check(&format!("{}z", "ab1!".repeat(18))).unwrap_err();
        assert!(err.messages.iter().any(|m| m.contains("72 bytes")));
    }

    #[test]
    fn byte_limit_counts_bytes_not_characters() {
        // 25 three-byte characters: 25 chars but 75 bytes.
        let err = check(&"€".repeat(25)).unwrap_err();
        assert!(err.messages.iter().any(|m| m.contains("72 bytes")));
    }

    #[test]
    fn refuses_common_and_numeric_passwords() {
        assert!(
            check("password")
                .unwrap_err()
                .messages
                .contains(&"is too common".to_owned())
        );
        assert!(
            check("PassWord").is_err(),
            "the list is matched ignoring case"
        );
        assert!(check("iloveyou").is_err());
        let err = check("8294710364").unwrap_err();
        assert!(
            err.messages
                .contains(&"must not be entirely numeric".to_owned())
        );
    }

    #[test]
    fn refuses_passwords_close_to_the_account_names() {
        assert!(check("janedoe1").is_err());
        assert!(check("jane.doe@example.com").is_err());
        assert!(check("Jane.Doe!").is_err());
    }

    #[test]
    fn reports_every_broken_rule_at_once() {
        let err = check("123").unwrap_err();
        assert_eq!(err.field, "password");
        assert!(err.messages.len() >= 2, "{:?}", err.messages);
    }

    #[test]
    fn common_list_is_large_enough() {
        assert!(COMMON_PASSWORDS.len() >= 10_000);
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let password = check("correct horse battery staple").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
        let hash = PasswordHash::new("$2b$12$secret".into());
        assert!(!format!("{hash:?}").contains("secret"));
    }

    proptest! {
        #[test]
        fn accepted_passwords_always_fit_bcrypt(candidate in "\\PC{0,100}") {
            if let Ok(password) = check(&candidate) {
                prop_assert!(password.expose().len() <= 72);
                prop_assert!(password.expose().chars().count() >= 8);
                prop_assert_eq!(password.expose(), candidate.as_str());
            }
        }
    }
}
