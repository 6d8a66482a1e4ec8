//! Writing the audit trail: every capability records what happened to an account through
//! [`Auditor`], which never lets a failed write fail the use case.

use std::collections::BTreeMap;
use std::sync::Arc;

use gatehouse_domain::{AuditEventType, UserId};
use uuid::Uuid;

use crate::shared::context::{ClientInfo, Principal};
use crate::shared::ports::{AuditEvent, AuditLog, Clock};

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
