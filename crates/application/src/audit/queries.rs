//! The administrators' view of the audit trail: filtered, keyset-paginated, newest first.

use std::sync::Arc;

use gatehouse_domain::{AuditEventType, UserId};
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::policy;
use crate::accounts::users::UserService;
use crate::shared::context::Principal;
use crate::shared::error::{AppError, ValidationErrors};
use crate::shared::pagination::{CursorCodec, Keyset, Page};
use crate::shared::ports::{AuditEvent, AuditFilter, AuditLog, Clock};

/// A client's audit query, as sent.
#[derive(Debug, Default)]
pub struct AuditQuery {
    /// `user_id` filter.
    pub user_id: Option<String>,
    /// `type` filter.
    pub kind: Option<String>,
    /// First day (`YYYY-MM-DD`, UTC) of the events wanted.
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, UTC, included) of the events wanted.
    pub to: Option<String>,
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
    clock: Arc<dyn Clock>,
}

impl AuditService {
    /// Reads `log` for callers `accounts` confirms as admins; `cursors` signs page cursors.
    pub fn new(
        log: Arc<dyn AuditLog>,
        accounts: Arc<UserService>,
        cursors: CursorCodec,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            log,
            accounts,
            cursors,
            clock,
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
        let since = day_start("from", query.from.as_deref(), 0, &mut errors);
        // The last day is included: the range ends where the next day starts.
        let until = day_start("to", query.to.as_deref(), 1, &mut errors);
        errors.into_result()?;
        let filter = AuditFilter {
            user,
            kind,
            since,
            until,
        };
        // Filters are part of the list's identity: a cursor from one filter is refused by another.
        let instant = |at: Option<OffsetDateTime>| {
            at.map(|at| at.unix_timestamp().to_string())
                .unwrap_or_default()
        };
        let scope = format!(
            "audit|{}|{}|{}|{}",
            user.map(|u| u.to_string()).unwrap_or_default(),
            kind.map(|k: AuditEventType| k.as_str()).unwrap_or_default(),
            instant(since),
            instant(until),
        );
        let cursors = self.cursors.scoped(&scope);
        let request = cursors.request(query.limit, query.cursor.as_deref())?;
        let rows = self.log.page(&filter, &request).await?;
        Ok(Page::assemble(rows, &request, &cursors, |event| Keyset {
            created_at: event.created_at,
            id: event.id,
        }))
    }

    /// Password sign-ins in the last 24 hours: how many succeeded and how many were refused
    /// (admins only).
    pub async fn sign_ins_today(&self, principal: &Principal) -> Result<SignInCounts, AppError> {
        let actor = self.accounts.me(principal).await?;
        policy::require_admin(&actor)?;
        let since = Some(self.clock.now() - Duration::hours(24));
        let count = |kind| AuditFilter {
            kind: Some(kind),
            since,
            ..AuditFilter::default()
        };
        Ok(SignInCounts {
            succeeded: self
                .log
                .count(&count(AuditEventType::LoginSucceeded))
                .await?,
            failed: self.log.count(&count(AuditEventType::LoginFailed)).await?,
        })
    }
}

/// Password sign-ins over a period, for the console's dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInCounts {
    /// `login_succeeded` events.
    pub succeeded: u64,
    /// `login_failed` events.
    pub failed: u64,
}

/// Midnight UTC of `raw` (`YYYY-MM-DD`) plus `days_after` days; a wrong date is reported
/// on `field`. Blank means no bound.
fn day_start(
    field: &'static str,
    raw: Option<&str>,
    days_after: i64,
    errors: &mut ValidationErrors,
) -> Option<OffsetDateTime> {
    let raw = raw.map(str::trim).filter(|raw| !raw.is_empty())?;
    let format = format_description!("[year]-[month]-[day]");
    // Nothing happened before 1970, and a bound any database can store stays inside 9998.
    let bounded = Date::parse(raw, &format)
        .ok()
        .filter(|day| (1970..=9998).contains(&day.year()));
    match bounded {
        Some(day) => Some(day.midnight().assume_utc() + Duration::days(days_after)),
        None => {
            errors.add(
                field,
                "must be a date written YYYY-MM-DD, from 1970 to 9998",
            );
            None
        }
    }
}
