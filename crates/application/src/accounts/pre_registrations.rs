//! The pre-registration list: addresses of people waiting for sign-up to open, limited per
//! client address and answered the same way whether the address was already listed.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, Email};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::accounts::policy;
use crate::accounts::ports::{PreRegistration, PreRegistrations};
use crate::accounts::users::UserService;
use crate::limits::throttle::{AddressAction, Throttle};
use crate::shared::audit_trail::{AuditContext, Auditor};
use crate::shared::context::{ClientInfo, Principal};
use crate::shared::error::AppError;
use crate::shared::pagination::{CursorCodec, CursorKey, Direction};
use crate::shared::ports::Clock;

/// How many addresses the export reads per query.
const EXPORT_BATCH: u64 = 500;

/// The ports [`PreRegistrationService`] works on.
pub struct PreRegistrationParts {
    /// The list.
    pub store: Arc<dyn PreRegistrations>,
    /// Limits additions per client address.
    pub throttle: Arc<Throttle>,
    /// Resolves admins.
    pub accounts: Arc<UserService>,
    /// Records exports.
    pub audit: Arc<Auditor>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Signs page cursors.
    pub cursors: CursorCodec,
}

/// One page of the list, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRegistrationPage {
    /// The addresses.
    pub items: Vec<PreRegistration>,
    /// Cursor to the rest, if any.
    pub next: Option<String>,
}

/// Collects addresses of people waiting for sign-up to open, and shows them to admins.
pub struct PreRegistrationService {
    store: Arc<dyn PreRegistrations>,
    throttle: Arc<Throttle>,
    accounts: Arc<UserService>,
    audit: Arc<Auditor>,
    clock: Arc<dyn Clock>,
    cursors: CursorCodec,
}

impl PreRegistrationService {
    /// The list kept in `parts.store`, additions limited per client address.
    pub fn new(parts: PreRegistrationParts) -> Self {
        Self {
            store: parts.store,
            throttle: parts.throttle,
            accounts: parts.accounts,
            audit: parts.audit,
            clock: parts.clock,
            cursors: parts.cursors,
        }
    }

    /// One page of addresses, oldest first (admins only).
    pub async fn list(
        &self,
        principal: &Principal,
        limit: Option<u64>,
        cursor: Option<&str>,
    ) -> Result<PreRegistrationPage, AppError> {
        self.admin(principal).await?;
        let cursors = self.cursors.scoped("pre-registrations");
        let request = cursors.request::<Position>(limit, cursor)?;
        let fetch = request.fetch();
        let after = request.from.map(|(_, position)| position.0);
        let mut items = self.store.list(after.as_ref(), fetch).await?;
        let more = items.len() as u64 > request.limit;
        items.truncate(usize::try_from(request.limit).unwrap_or(usize::MAX));
        let next = items
            .last()
            .filter(|_| more)
            .map(|last| cursors.encode(Direction::Older, Position(last.clone())));
        Ok(PreRegistrationPage { items, next })
    }

    /// The whole list as CSV (`email,created_at`, RFC 3339 times), audited (admins only).
    pub async fn export_csv(&self, principal: &Principal) -> Result<String, AppError> {
        let actor = self.admin(principal).await?;
        let mut csv = String::from("email,created_at\r\n");
        let mut after: Option<PreRegistration> = None;
        let mut rows = 0_usize;
        loop {
            let batch = self.store.list(after.as_ref(), EXPORT_BATCH).await?;
            for entry in &batch {
                csv.push_str(&csv_field(&entry.email));
                csv.push(',');
                csv.push_str(&rfc3339(entry.created_at));
                csv.push_str("\r\n");
            }
            rows += batch.len();
            if (batch.len() as u64) < EXPORT_BATCH {
                break;
            }
            after = batch.last().cloned();
        }
        self.audit
            .record(
                AuditEventType::PreRegistrationsExported,
                AuditContext::by(principal, actor),
                &[("rows", rows.to_string())],
            )
            .await;
        Ok(csv)
    }

    async fn admin(&self, principal: &Principal) -> Result<gatehouse_domain::UserId, AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)?;
        Ok(actor.id)
    }

    /// Stores `email` once. Whether it was already there is not revealed: the answer is the
    /// same either way, so the endpoint tells nobody who signed up.
    pub async fn add(&self, email: &str, client: &ClientInfo) -> Result<(), AppError> {
        self.throttle
            .per_address(AddressAction::Register, client.address)
            .await?;
        let email = Email::parse(email)?;
        self.store.add(&email, self.clock.now()).await?;
        Ok(())
    }
}

/// A place in the list, as a cursor carries it.
struct Position(PreRegistration);

impl CursorKey for Position {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.created_at.unix_timestamp_nanos().to_be_bytes());
        out.extend_from_slice(self.0.email.as_bytes());
    }

    fn read(bytes: &[u8]) -> Option<Self> {
        let (nanos, email) = bytes.split_first_chunk::<16>()?;
        Some(Self(PreRegistration {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from_be_bytes(*nanos))
                .ok()?,
            email: String::from_utf8(email.to_vec()).ok()?,
        }))
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// One CSV field: quoted when it holds a separator (`,` or `;`), tab, newline or quote, and never read as a formula by
/// a spreadsheet (a leading `=`, `+`, `-`, `@` gets a `'` first).
fn csv_field(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    // `;` too: spreadsheets set to a `;`-separated locale split on it.
    if guarded.contains([',', ';', '"', '\t', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("ada@example.com"), "ada@example.com");
        assert_eq!(csv_field("a,b@example.com"), "\"a,b@example.com\"");
        assert_eq!(csv_field("\"q\"@example.com"), "\"\"\"q\"\"@example.com\"");
        assert_eq!(csv_field("=cmd@example.com"), "'=cmd@example.com");
        assert_eq!(csv_field("-1+1@example.com"), "'-1+1@example.com");
        assert_eq!(csv_field("x;=1+1@example.com"), "\"x;=1+1@example.com\"");
    }

    #[test]
    fn a_position_survives_its_cursor_bytes() {
        let entry = PreRegistration {
            email: "zoë@example.com".into(),
            created_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        };
        let mut bytes = Vec::new();
        Position(entry.clone()).write(&mut bytes);
        assert_eq!(Position::read(&bytes).map(|p| p.0), Some(entry));
        assert!(Position::read(&bytes[..10]).is_none());
    }
}
