use async_trait::async_trait;
use gatehouse_application::pagination::PageRequest;
use gatehouse_application::ports::{AuditEvent, AuditFilter, AuditLog};
use time::OffsetDateTime;

use crate::keyset;
use crate::locked::Locked;

/// [`AuditLog`] in process memory: append-only apart from pruning, listed in the same
/// `(created_at, id)` keyset order as the SQL log.
#[derive(Default)]
pub struct InMemoryAuditLog {
    events: Locked<Vec<AuditEvent>>,
}

impl InMemoryAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AuditLog for InMemoryAuditLog {
    async fn record(&self, event: &AuditEvent) -> anyhow::Result<()> {
        self.events.with(|events| {
            anyhow::ensure!(
                events.iter().all(|e| e.id != event.id),
                "an audit event with this id exists"
            );
            events.push(event.clone());
            Ok(())
        })?
    }

    async fn prune(&self, before: OffsetDateTime, batch: u64) -> anyhow::Result<u64> {
        self.events.with(|events| {
            // The oldest `batch` of those past `before`, like the SQL adapter's sub-select.
            let mut old: Vec<(OffsetDateTime, uuid::Uuid)> = events
                .iter()
                .filter(|e| e.created_at < before)
                .map(|e| (e.created_at, e.id))
                .collect();
            old.sort();
            old.truncate(usize::try_from(batch).unwrap_or(usize::MAX));
            let doomed: std::collections::HashSet<uuid::Uuid> =
                old.into_iter().map(|(_, id)| id).collect();
            events.retain(|e| !doomed.contains(&e.id));
            doomed.len() as u64
        })
    }

    async fn page(
        &self,
        filter: &AuditFilter,
        request: &PageRequest,
    ) -> anyhow::Result<Vec<AuditEvent>> {
        self.events.with(|events| {
            let matching = events.iter().filter(|e| matches(e, filter));
            keyset::page(matching.cloned(), |e| (e.created_at, e.id), request)
        })
    }

    async fn count(&self, filter: &AuditFilter) -> anyhow::Result<u64> {
        self.events
            .with(|events| events.iter().filter(|e| matches(e, filter)).count() as u64)
    }
}

/// Whether `event` is one `filter` selects: the same conditions as the SQL log's.
fn matches(event: &AuditEvent, filter: &AuditFilter) -> bool {
    filter.user.is_none_or(|user| event.user == Some(user))
        && filter.kind.is_none_or(|kind| event.kind == kind)
        && filter.since.is_none_or(|since| event.created_at >= since)
        && filter.until.is_none_or(|until| event.created_at < until)
}
