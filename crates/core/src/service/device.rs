//! Devices: recorded when a client reports one (on login, refresh or its own call), bound to
//! the user and session that use it, listed and signed out by their user.

use super::{AuditRecord, Core};
use crate::audit::RequestContext;
use crate::device::{Device, DeviceReport, DeviceUpsert};
use crate::error::{CoreError, CoreResult};
use crate::ids::{DeviceId, SessionId, TenantId, UserId};
use crate::session::Session;

/// A device with the session bound to it, if that session is still live.
#[derive(Clone, Debug)]
pub struct DeviceView {
    pub device: Device,
    pub session: Option<Session>,
}

fn bad_field(field: &'static str) -> CoreError {
    CoreError::field(
        field,
        "invalid_device",
        format!("{field} is empty or too long"),
    )
}

impl Core {
    /// Inserts or updates the device of `report.code` in the tenant on behalf of `actor`,
    /// binding it to `actor` and `session` when both are given. A device bound to another
    /// user's live session is a conflict and is left as it is: a phone changes hands when its
    /// user signs out, so nobody can take over another's device or push token by its code.
    pub async fn record_device(
        &self,
        tenant: TenantId,
        report: DeviceReport,
        actor: Option<UserId>,
        session: Option<SessionId>,
    ) -> CoreResult<Device> {
        report.validate().map_err(bad_field)?;
        let current = self.store.find_device(tenant, &report.code).await?;
        let other_owner = current
            .as_ref()
            .is_some_and(|d| d.user_id.is_some() && d.user_id != actor);
        if let Some(d) = &current
            && let Some(sid) = d.session_id
            && other_owner
            && self.live_session(sid).await?.is_some()
        {
            return Err(CoreError::Conflict(
                "The device is in use by another user.".into(),
            ));
        }
        let upsert = DeviceUpsert {
            tenant_id: tenant,
            new_id: DeviceId::new(),
            report,
            bind: actor.zip(session),
            take_over: other_owner,
            at: self.now(),
        };
        Ok(self.store.upsert_device(&upsert).await?)
    }

    /// A device of the tenant by its code.
    pub async fn device_by_code(&self, tenant: TenantId, code: &str) -> CoreResult<Device> {
        self.store
            .find_device(tenant, code)
            .await?
            .ok_or(CoreError::NotFound("device"))
    }

    /// Binds a device to the user of `session` (and that session), with the push token and
    /// tags given. A device bound to another user's live session is a conflict.
    pub async fn link_device(
        &self,
        session: &Session,
        device: DeviceId,
        push_token: Option<String>,
        tags: Option<Vec<String>>,
    ) -> CoreResult<Device> {
        let user = session.user_id.ok_or(CoreError::Forbidden(
            "a service session has no devices".into(),
        ))?;
        let current = self
            .store
            .get_device(device)
            .await?
            .filter(|d| d.tenant_id == session.tenant_id)
            .ok_or(CoreError::NotFound("device"))?;
        let report = DeviceReport {
            code: current.code,
            push_token,
            tags,
            ..Default::default()
        };
        self.record_device(session.tenant_id, report, Some(user), Some(session.id))
            .await
    }

    /// The user's devices, each with its live session if it has one.
    pub async fn user_devices(&self, user: UserId) -> CoreResult<Vec<DeviceView>> {
        let devices = self.store.list_user_devices(user).await?;
        let mut out = Vec::with_capacity(devices.len());
        for device in devices {
            let session = match device.session_id {
                Some(sid) => self.live_session(sid).await?,
                None => None,
            };
            out.push(DeviceView { device, session });
        }
        Ok(out)
    }

    /// Signs a user's device out: revokes its session, which unbinds its push token.
    pub async fn revoke_device_session(
        &self,
        user: UserId,
        device: DeviceId,
        ctx: &RequestContext,
    ) -> CoreResult<()> {
        let found = self
            .store
            .get_device(device)
            .await?
            .filter(|d| d.user_id == Some(user))
            .ok_or(CoreError::NotFound("device"))?;
        if let Some(sid) = found.session_id {
            self.revoke_session(sid, "device_signed_out", ctx).await?;
        }
        self.audit(AuditRecord {
            action: "device.signed_out",
            tenant: Some(found.tenant_id),
            user: Some(user),
            session: found.session_id,
            ctx: Some(ctx),
            ..Default::default()
        })
        .await;
        Ok(())
    }

    async fn live_session(&self, sid: SessionId) -> CoreResult<Option<Session>> {
        let now = self.now();
        Ok(self
            .store
            .get_session(sid)
            .await?
            .filter(|s| s.is_live(now) && !self.validator.is_revoked(&s.id)))
    }
}
