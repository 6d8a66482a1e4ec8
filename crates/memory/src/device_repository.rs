use std::collections::HashMap;

use async_trait::async_trait;
use gatehouse_application::ports::DeviceRepository;
use gatehouse_domain::{Device, DeviceId, UserId};
use time::OffsetDateTime;

use crate::locked::Locked;

/// [`DeviceRepository`] in process memory: one device per (user, user agent), upserted
/// under one lock so concurrent sign-ins never make two.
#[derive(Default)]
pub struct InMemoryDeviceRepository {
    devices: Locked<HashMap<DeviceId, Device>>,
}

impl InMemoryDeviceRepository {
    /// No devices yet.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl DeviceRepository for InMemoryDeviceRepository {
    async fn record_sign_in(
        &self,
        user: UserId,
        user_agent: &str,
        ip: Option<String>,
        now: OffsetDateTime,
    ) -> anyhow::Result<Device> {
        self.devices.with(|devices| {
            if let Some(device) = devices
                .values_mut()
                .find(|d| d.user == user && d.user_agent == user_agent)
            {
                device.ip = ip;
                device.last_seen_at = now;
                return device.clone();
            }
            let device = Device {
                id: DeviceId::generate(),
                user,
                user_agent: user_agent.to_owned(),
                ip,
                first_seen_at: now,
                last_seen_at: now,
            };
            devices.insert(device.id, device.clone());
            device
        })
    }

    async fn list(&self, user: UserId) -> anyhow::Result<Vec<Device>> {
        self.devices.with(|devices| {
            let mut list: Vec<Device> = devices
                .values()
                .filter(|d| d.user == user)
                .cloned()
                .collect();
            list.sort_by_key(|d| std::cmp::Reverse((d.last_seen_at, d.id.as_uuid())));
            list
        })
    }

    async fn delete(&self, user: UserId, device: DeviceId) -> anyhow::Result<bool> {
        self.devices.with(|devices| {
            let owned = devices.get(&device).is_some_and(|d| d.user == user);
            owned && devices.remove(&device).is_some()
        })
    }
}
