//! The error a value that breaks a domain rule is refused with.

/// A value that breaks a domain rule. `field` names the input it came from, so the HTTP layer
/// can report it per field; every broken rule of that field is listed in `messages`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {}", messages.join("; "))]
pub struct DomainError {
    /// The input field the value came from (`email`, `password`, ...).
    pub field: &'static str,
    /// One human-readable message per broken rule.
    pub messages: Vec<String>,
}

impl DomainError {
    /// An error with a single message.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            messages: vec![message.into()],
        }
    }
}
