//! Managing profiles and who has them, for the admin API and the command line. Writes go
//! through the provisioning path (one transaction, a directory change every node applies).

use super::authorize::Identity;
use super::{AuditRecord, Core};
use crate::error::{CoreError, CoreResult};
use crate::ids::ProfileId;
use crate::profile::{Profile, RouteRule, validate_name, validate_rules};
use crate::provisioning::ProvisionPlan;
use crate::tenant::Tenant;
use crate::user::{User, UserKind};

impl Core {
    /// A tenant's profiles, by name.
    pub async fn profiles(&self, tenant: &Tenant) -> CoreResult<Vec<Profile>> {
        let mut all = self.store.list_profiles(tenant.id).await?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// Creates or replaces the profile `name` of a tenant.
    pub async fn save_profile(
        &self,
        tenant: &Tenant,
        name: &str,
        rules: Vec<RouteRule>,
        actor: &str,
    ) -> CoreResult<Profile> {
        validate_name(name).map_err(|m| CoreError::field("name", "invalid_profile_name", m))?;
        validate_rules(&rules).map_err(|(k, field, m)| {
            CoreError::field(&format!("rules[{k}].{field}"), "invalid_rule", m)
        })?;
        let old = self
            .store
            .list_profiles(tenant.id)
            .await?
            .into_iter()
            .find(|p| p.name == name);
        let profile = Profile {
            id: old.as_ref().map_or_else(ProfileId::new, |p| p.id),
            tenant_id: tenant.id,
            name: name.to_owned(),
            rules,
        };
        if old.as_ref() != Some(&profile) {
            self.apply(ProvisionPlan {
                profiles: vec![profile.clone()],
                ..Default::default()
            })
            .await?;
            self.audit(AuditRecord {
                action: "profile.saved",
                tenant: Some(tenant.id),
                detail: format!("{name} by {actor}"),
                ..Default::default()
            })
            .await;
        }
        Ok(profile)
    }

    /// Replaces the profiles given to a user directly (the kind's defaults stay).
    pub async fn set_user_profiles(
        &self,
        user: &User,
        names: &[String],
        actor: &str,
    ) -> CoreResult<Vec<String>> {
        let tenant = self.tenant(user.tenant_id)?;
        let mut ids = self.profile_ids(&tenant, names).await?;
        ids.sort();
        ids.dedup();
        self.apply(ProvisionPlan {
            user_profiles: vec![(user.id, ids)],
            ..Default::default()
        })
        .await?;
        self.audit(AuditRecord {
            action: "user.profiles_set",
            tenant: Some(tenant.id),
            user: Some(user.id),
            detail: format!("[{}] by {actor}", names.join(", ")),
            ..Default::default()
        })
        .await;
        self.profiles_of(user).await
    }

    /// The caller of an admin route: an operator whose profiles allow this request.
    pub async fn admin_caller(
        &self,
        token: &str,
        method: &str,
        path: &str,
    ) -> CoreResult<Identity> {
        let (identity, decision) = self.authorize(token, method, path).await?;
        if identity.kind != UserKind::Operator.as_str() {
            return Err(CoreError::Forbidden("only operators may administer".into()));
        }
        if !decision.allowed {
            return Err(CoreError::Forbidden(decision.reason));
        }
        Ok(identity)
    }

    async fn apply(&self, mut plan: ProvisionPlan) -> CoreResult<()> {
        plan.retire_previous_keys_at = self.now();
        self.store.apply_provisioning(&plan).await?;
        self.reload_directory().await
    }
}
