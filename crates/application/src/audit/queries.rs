//! The administrators' view of the audit trail: filtered, keyset-paginated, newest first.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, UserId};
use uuid::Uuid;

use crate::accounts::policy;
use crate::accounts::users::UserService;
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::pagination::{CursorCodec, Keyset, Page};
use crate::shared::ports::{AuditEvent, AuditFilter, AuditLog};

/// A client's audit query, as sent.
#[derive(Debug, Default)]
pub struct AuditQuery {
    /// `user_id` filter.
    pub user_id: Option<String>,
    /// `type` filter.
    pub kind: Option<String>,
    /// Page size.
    pub limit: Option<u64>,
    /// Page cursor.
    pub cursor: Option<String>,
}

/// Reading the audit log (admins only).
pub struct AuditService {
    log: Arc<dyn AuditLog>,
    accounts: Arc<UserService>,
    cursors: CursorCodec,
}

impl AuditService {
    /// Reads `log` for callers `accounts` confirms as admins; `cursors` signs page cursors.
    pub fn new(log: Arc<dyn AuditLog>, accounts: Arc<UserService>, cursors: CursorCodec) -> Self {
        Self {
            log,
            accounts,
            cursors,
        }
    }

    /// One page of events, newest first, filtered by user and type. Admins only.
    pub async fn list(
        &self,
        principal: &Principal,
        query: AuditQuery,
    ) -> Result<Page<AuditEvent>, AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)?;
        let mut errors = ValidationErrors::new();
        let user = query
            .user_id
            .as_deref()
            .and_then(|raw| match Uuid::parse_str(raw.trim()) {
                Ok(id) => Some(UserId::from_uuid(id)),
                Err(_) => {
                    errors.add("user_id", "must be a UUID");
                    None
                }
            });
        let kind = query
            .kind
            .as_deref()
            .and_then(|raw| errors.check(raw.trim().parse()));
        errors.into_result()?;
        // Filters are part of the list's identity: a cursor from one filter is refused by another.
        let scope = format!(
            "audit|{}|{}",
            user.map(|u| u.to_string()).unwrap_or_default(),
            kind.map(|k: AuditEventType| k.as_str()).unwrap_or_default()
        );
        let cursors = self.cursors.scoped(&scope);
        let request = cursors.request(query.limit, query.cursor.as_deref())?;
        let rows = self.log.page(&AuditFilter { user, kind }, &request).await?;
        Ok(Page::assemble(rows, &request, &cursors, |event| Keyset {
            created_at: event.created_at,
            id: event.id,
        }))
    }
}
