//! The one error type every service returns, and the per-field validation errors inside it.

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse_domain::DomainError;

/// Input problems keyed by field, each with every message that applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(BTreeMap<&'static str, Vec<String>>);

impl ValidationErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one message for `field`.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_default().push(message.into());
    }

    /// Records a domain rule violation.
    pub fn record(&mut self, error: DomainError) {
        self.0
            .entry(error.field)
            .or_default()
            .extend(error.messages);
    }

    /// Keeps the value of `result`, or records its error and yields `None`.
    pub fn check<T>(&mut self, result: Result<T, DomainError>) -> Option<T> {
        result.map_err(|e| self.record(e)).ok()
    }

    /// `Ok(())` when nothing was recorded, else the whole collection as an [`AppError`].
    pub fn into_result(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }

    /// The messages by field.
    pub fn fields(&self) -> &BTreeMap<&'static str, Vec<String>> {
        &self.0
    }
}

/// The one error type of every service. Each variant is a distinct outcome a client can act
/// on; `Unavailable` and `Internal` carry the cause for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input breaks a rule; details by field.
    #[error("the request is invalid")]
    Validation(ValidationErrors),
    /// Unknown account or wrong password: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No credentials were presented.
    #[error("authentication credentials were not provided")]
    NotAuthenticated,
    /// A token that is malformed, forged, of the wrong type, revoked or reused.
    #[error("token is invalid")]
    TokenInvalid,
    /// An emailed (verification or reset) token that is unknown, expired or used up.
    #[error("the token is invalid or has expired")]
    InvalidToken,
    /// A well-formed token past its expiry.
    #[error("token has expired")]
    TokenExpired,
    /// The account exists and the password is right, but the account is deactivated.
    #[error("this account is deactivated")]
    AccountDisabled,
    /// Authenticated, but not allowed to do this.
    #[error("you do not have permission to perform this action")]
    PermissionDenied,
    /// Allowed, but only with a recent sign-in: the credential's is too old for this change.
    #[error("sign in again to do this: it needs a sign-in from the last few minutes")]
    RecentSignInRequired,
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with existing state, e.g. an email already taken.
    #[error("{message}")]
    Conflict {
        /// The input field in conflict.
        field: &'static str,
        /// What is in conflict.
        message: String,
    },
    /// An upload larger than its limit.
    #[error("the upload is too large")]
    PayloadTooLarge,
    /// An upload of a type that is not accepted; the message says which are.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; try again after `retry_after`.
    #[error("too many attempts, try again later")]
    RateLimited {
        /// How long the client must wait.
        retry_after: Duration,
    },
    /// A dependency (database, cache) failed or timed out.
    #[error("a required service is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// A bug: something that should not happen did.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    /// The state a request worked on changed under it every time it tried (a compare-and-set
    /// lost repeatedly): 409 on `field`, and the client tries again.
    pub fn changed_meanwhile(field: &'static str) -> Self {
        AppError::Conflict {
            field,
            message: "it changed while this request was handled; try again".into(),
        }
    }
}

impl From<DomainError> for AppError {
    fn from(error: DomainError) -> Self {
        let mut errors = ValidationErrors::new();
        errors.record(error);
        AppError::Validation(errors)
    }
}

/// Port failures are infrastructure failures: a store that errs is a store that is down.
impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> Self {
        AppError::Unavailable(error)
    }
}
