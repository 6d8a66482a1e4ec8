//! Audit log bodies.

use gatehouse_application::AuditQuery;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::constraints;
use crate::pagination::limit_schema;

/// `?limit=&cursor=&user_id=&type=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditListQuery {
    #[param(schema_with = limit_schema)]
    pub limit: Option<u64>,
    /// `next_cursor` or `previous_cursor` of an earlier page.
    pub cursor: Option<String>,
    #[param(schema_with = user_filter)]
    pub user_id: Option<String>,
    #[param(schema_with = type_filter)]
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// One audit event. `data` never holds a password, token or hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventResponse {
    pub id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "login_succeeded")]
    pub kind: &'static str,
    pub user_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[schema(value_type = Object)]
    pub data: std::collections::BTreeMap<String, String>,
}

impl From<gatehouse_application::ports::AuditEvent> for AuditEventResponse {
    fn from(event: gatehouse_application::ports::AuditEvent) -> Self {
        Self {
            id: event.id,
            kind: event.kind.as_str(),
            user_id: event.user.map(|u| u.as_uuid()),
            actor_id: event.actor.map(|u| u.as_uuid()),
            ip: event.ip,
            user_agent: event.user_agent,
            created_at: event.created_at,
            data: event.data,
        }
    }
}

impl From<AuditListQuery> for AuditQuery {
    fn from(query: AuditListQuery) -> Self {
        Self {
            user_id: query.user_id,
            kind: query.kind,
            limit: query.limit,
            cursor: query.cursor,
            ..AuditQuery::default()
        }
    }
}

fn user_filter() -> utoipa::openapi::Object {
    constraints::described(constraints::uuid(), "Only events about this user.")
}

fn type_filter() -> utoipa::openapi::Object {
    constraints::described(constraints::audit_event_type(), "Only events of this type.")
}
