//! Credit ledger bodies.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::constraints;

/// One credit movement.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditEntryResponse {
    pub id: Uuid,
    /// Positive: granted; negative: spent.
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub actor_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<gatehouse_application::ports::CreditEntry> for CreditEntryResponse {
    fn from(entry: gatehouse_application::ports::CreditEntry) -> Self {
        Self {
            id: entry.id,
            amount: entry.amount,
            balance_after: entry.balance_after,
            reason: entry.reason,
            actor_id: entry.actor.map(|a| a.as_uuid()),
            created_at: entry.created_at,
        }
    }
}

/// `GET /users/me/credits`: the balance and the latest 50 entries, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsResponse {
    pub balance: i64,
    pub entries: Vec<CreditEntryResponse>,
}

/// `POST /users/{id}/credits`: positive grants, negative spends.
#[derive(Deserialize, ToSchema)]
pub struct CreditRequest {
    #[schema(schema_with = constraints::credit_amount)]
    #[serde(deserialize_with = "crate::numbers::integral")]
    pub amount: i64,
    #[schema(schema_with = constraints::credit_reason)]
    pub reason: String,
}

/// The entry applied and the balance after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditAdjustmentResponse {
    pub balance: i64,
    pub entry: CreditEntryResponse,
}
