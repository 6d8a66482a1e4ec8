//! The audit log port: where audit events are appended and paged through.

use std::collections::BTreeMap;

use async_trait::async_trait;
use gatehouse_domain::{AuditEventType, UserId};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::shared::pagination::PageRequest;

/// One audit record. `data` holds only what the writing service put there: ids, names,
/// outcomes; never a password, token or hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Event id (UUIDv7).
    pub id: Uuid,
    /// What happened.
    pub kind: AuditEventType,
    /// The user it happened to, when known.
    pub user: Option<UserId>,
    /// Who did it, when not the user themselves.
    pub actor: Option<UserId>,
    /// The client address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// Event-specific facts (never a secret), e.g. the reason a login failed.
    pub data: BTreeMap<String, String>,
    /// When it happened; events page newest first by this, then by id.
    pub created_at: OffsetDateTime,
}

/// Which events to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events about this user.
    pub user: Option<UserId>,
    /// Only events of this type.
    pub kind: Option<AuditEventType>,
    /// Only events created at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Only events created before this instant.
    pub until: Option<OffsetDateTime>,
}

/// The append-only audit log.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one event.
    async fn record(&self, event: &AuditEvent) -> anyhow::Result<()>;

    /// Deletes up to `batch` events created before `before`; the number deleted. Callers
    /// repeat until it returns less than `batch`, so no single statement holds a long lock.
    async fn prune(&self, before: OffsetDateTime, batch: u64) -> anyhow::Result<u64>;

    /// Up to `request.fetch()` matching events, in walk order (see [`PageRequest`]).
    async fn page(
        &self,
        filter: &AuditFilter,
        request: &PageRequest,
    ) -> anyhow::Result<Vec<AuditEvent>>;

    /// How many events match `filter`.
    async fn count(&self, filter: &AuditFilter) -> anyhow::Result<u64>;
}
