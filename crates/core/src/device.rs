//! Devices: the phones and tablets users log in from, known to a tenant by the code the app
//! gives them. A device carries the push token of the app on it and is bound to the user and
//! the session that last authenticated from it; revoking that session unbinds the push token,
//! so nothing is pushed to a device whose user has logged out.

use crate::clock::Timestamp;
use crate::ids::{DeviceId, SessionId, TenantId, UserId};

#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    pub id: DeviceId,
    pub tenant_id: TenantId,
    /// The app's own identifier of the device, unique per tenant.
    pub code: String,
    /// What the device is (JFW `type`, e.g. `mobile`).
    pub kind: Option<String>,
    pub name: Option<String>,
    /// Operating system (`iOS`, `Android`).
    pub os: Option<String>,
    pub app_version: Option<String>,
    /// Push token (Firebase); kept while a live session is bound.
    pub push_token: Option<String>,
    pub tags: Vec<String>,
    pub user_id: Option<UserId>,
    pub session_id: Option<SessionId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for Device {
    // The push token addresses a person's phone: it stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("id", &self.id)
            .field("code", &self.code)
            .field("user_id", &self.user_id)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

/// What a client says about a device (JFW `X-Device-*` headers or a device body). Absent
/// fields leave the stored ones as they are.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DeviceReport {
    pub code: String,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub os: Option<String>,
    pub app_version: Option<String>,
    pub push_token: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl std::fmt::Debug for DeviceReport {
    // Without the push token, as for `Device`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceReport")
            .field("code", &self.code)
            .field("name", &self.name)
            .field("os", &self.os)
            .finish_non_exhaustive()
    }
}

/// A device write: the report, and the user and session to bind it to.
#[derive(Clone, Debug)]
pub struct DeviceUpsert {
    pub tenant_id: TenantId,
    /// The id used if the device is new.
    pub new_id: DeviceId,
    pub report: DeviceReport,
    pub bind: Option<(UserId, SessionId)>,
    /// The device changes hands: its owner, session and push token become the report's,
    /// absent ones cleared, so nothing of the previous user's stays with it.
    pub take_over: bool,
    pub at: Timestamp,
}

/// Longest accepted device field, in characters (push tokens are ~160).
pub const MAX_FIELD_CHARS: usize = 512;

impl DeviceReport {
    /// Checks lengths and characters; returns the name of the first bad field.
    pub fn validate(&self) -> Result<(), &'static str> {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars().count() <= MAX_FIELD_CHARS
                && !s.chars().any(char::is_control)
        };
        if !ok(&self.code) {
            return Err("code");
        }
        let fields = [
            ("kind", &self.kind),
            ("name", &self.name),
            ("os", &self.os),
            ("app_version", &self.app_version),
            ("push_token", &self.push_token),
        ];
        for (name, value) in fields {
            if value.as_deref().is_some_and(|v| !ok(v)) {
                return Err(name);
            }
        }
        if let Some(tags) = &self.tags
            && (tags.len() > 32 || tags.iter().any(|t| !ok(t)))
        {
            return Err("tags");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_checked_field_by_field() {
        let good = DeviceReport {
            code: "device-1".into(),
            push_token: Some("fcm:abc".into()),
            ..Default::default()
        };
        assert_eq!(good.validate(), Ok(()));
        let empty_code = DeviceReport {
            code: String::new(),
            ..good.clone()
        };
        assert_eq!(empty_code.validate(), Err("code"));
        let control = DeviceReport {
            name: Some("a\nb".into()),
            ..good.clone()
        };
        assert_eq!(control.validate(), Err("name"));
        let long = DeviceReport {
            push_token: Some("x".repeat(MAX_FIELD_CHARS + 1)),
            ..good
        };
        assert_eq!(long.validate(), Err("push_token"));
    }
}
