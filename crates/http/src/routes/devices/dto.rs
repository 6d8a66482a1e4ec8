//! Device bodies.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A device the user signed in from.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceResponse {
    pub id: Uuid,
    pub user_agent: String,
    pub ip: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: OffsetDateTime,
    /// Whether this request comes from it.
    pub current: bool,
}

impl From<gatehouse_application::DeviceView> for DeviceResponse {
    fn from(view: gatehouse_application::DeviceView) -> Self {
        let device = view.device;
        Self {
            id: device.id.as_uuid(),
            user_agent: device.user_agent,
            ip: device.ip,
            first_seen_at: device.first_seen_at,
            last_seen_at: device.last_seen_at,
            current: view.current,
        }
    }
}

/// `{"results": [...]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceList {
    pub results: Vec<DeviceResponse>,
}
