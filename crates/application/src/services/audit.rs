use std::collections::BTreeMap;
use std::sync::Arc;

use gatehouse_domain::{AuditEventType, UserId};
use uuid::Uuid;

use crate::pagination::{CursorCodec, Keyset, Page};
use crate::ports::{AuditEvent, AuditFilter, AuditLog, Clock};
use crate::services::policy;
use crate::{AppError, ClientInfo, Principal, UserService, ValidationErrors};

/// The longest user agent an event keeps, in characters: enough to recognise a client, too
/// little for a client to store much through it. Events are written for refused requests
/// too, so they get less than a device record (which is written once per signed-in client).
const AUDIT_USER_AGENT_MAX: usize = 256;

/// Writes audit events for the services. Recording never fails the use case that triggers
/// it: a log write that fails is reported loudly in the service log instead, because refusing
/// a logout (say) because the audit table is briefly unreachable helps nobody.
pub struct Auditor {
    log: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

/// The subject and origin of an audit event.
pub struct AuditContext<'a> {
    /// Whom it is about.
    pub user: Option<UserId>,
    /// Who did it, when not the user themselves.
    pub actor: Option<UserId>,
    /// From where.
    pub client: &'a ClientInfo,
}

impl<'a> AuditContext<'a> {
    /// An event the user caused themselves.
    pub fn own(user: UserId, client: &'a ClientInfo) -> Self {
        Self {
            user: Some(user),
            actor: None,
            client,
        }
    }

    /// An event `principal` caused to `user`.
    pub fn by(principal: &'a Principal, user: UserId) -> Self {
        Self {
            user: Some(user),
            actor: (principal.user_id != user).then_some(principal.user_id),
            client: &principal.client,
        }
    }
}

impl Auditor {
    /// An auditor writing to `log`.
    pub fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>) -> Self {
        Self { log, clock }
    }

    /// Records one event. `data` must never hold a secret.
    pub async fn record(
        &self,
        kind: AuditEventType,
        context: AuditContext<'_>,
        data: &[(&str, String)],
    ) {
        let event = AuditEvent {
            id: Uuid::now_v7(),
            kind,
            user: context.user,
            actor: context.actor,
            ip: context.client.address.map(|ip| ip.to_string()),
            user_agent: context
                .client
                .user_agent
                .as_deref()
                .map(|agent| agent.chars().take(AUDIT_USER_AGENT_MAX).collect()),
            data: data
                .iter()
                .map(|(key, value)| ((*key).to_owned(), value.clone()))
                .collect::<BTreeMap<_, _>>(),
            created_at: self.clock.now(),
        };
        if let Err(error) = self.log.record(&event).await {
            tracing::error!(
                error = format!("{error:#}"),
                event = kind.as_str(),
                "audit event NOT recorded"
            );
        }
    }
}

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
    /// Builds the service.
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
