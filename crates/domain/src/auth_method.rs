//! How a user proved who they are: the `amr` (authentication methods references, RFC 8176)
//! that access tokens carry, so a service can ask for a second factor before a sensitive act.

use crate::DomainError;

/// One way of proving identity. A sign-in lists every method it used, in the order used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthMethod {
    /// A password (`pwd`).
    Password,
    /// A time-based one-time code (`otp`).
    Otp,
    /// A single-use recovery code (`recovery_code`).
    RecoveryCode,
    /// A passkey or security key (`webauthn`).
    WebAuthn,
}

impl AuthMethod {
    /// The `amr` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::Otp => "otp",
            Self::RecoveryCode => "recovery_code",
            Self::WebAuthn => "webauthn",
        }
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = DomainError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "pwd" => Ok(Self::Password),
            "otp" => Ok(Self::Otp),
            "recovery_code" => Ok(Self::RecoveryCode),
            "webauthn" => Ok(Self::WebAuthn),
            _ => Err(DomainError::new(
                "amr",
                "must be one of: pwd, otp, recovery_code, webauthn",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_reads_back_from_its_name_and_nothing_else_does() {
        for method in [
            AuthMethod::Password,
            AuthMethod::Otp,
            AuthMethod::RecoveryCode,
            AuthMethod::WebAuthn,
        ] {
            assert_eq!(method.as_str().parse::<AuthMethod>().ok(), Some(method));
        }
        assert!("PWD".parse::<AuthMethod>().is_err());
        assert!("".parse::<AuthMethod>().is_err());
    }
}
