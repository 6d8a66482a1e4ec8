//! Devices: a client an account signed in from, recognised by its user agent.

use time::OffsetDateTime;

use crate::UserId;
use crate::id::uuid_id;

uuid_id!(
    /// The identity of a device.
    DeviceId
);

/// Something a user signs in from, told apart by its user agent: the same browser or app
/// on a new network is the same device, seen again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device's id: what revoking a device names.
    pub id: DeviceId,
    /// The account that signed in from it; devices are never shared between accounts.
    pub user: UserId,
    /// The `User-Agent` it presented (at most [`Device::MAX_USER_AGENT`] characters).
    pub user_agent: String,
    /// The client address it was last seen from.
    pub ip: Option<String>,
    /// First sign-in.
    pub first_seen_at: OffsetDateTime,
    /// Latest sign-in.
    pub last_seen_at: OffsetDateTime,
}

impl Device {
    /// Longest user agent kept, in characters.
    pub const MAX_USER_AGENT: usize = 512;

    /// The stored form of a presented user agent: trimmed, bounded, `unknown` when absent.
    pub fn normalize_user_agent(raw: Option<&str>) -> String {
        let trimmed: String = raw
            .unwrap_or("")
            .trim()
            .chars()
            .take(Self::MAX_USER_AGENT)
            .collect();
        if trimmed.is_empty() {
            "unknown".to_owned()
        } else {
            trimmed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_bounded_and_never_empty() {
        assert_eq!(Device::normalize_user_agent(None), "unknown");
        assert_eq!(Device::normalize_user_agent(Some("  ")), "unknown");
        assert_eq!(Device::normalize_user_agent(Some(" curl/8 ")), "curl/8");
        assert_eq!(
            Device::normalize_user_agent(Some(&"x".repeat(600)))
                .chars()
                .count(),
            512
        );
    }
}
