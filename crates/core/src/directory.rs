//! The directory: every tenant, store and app, held in memory. It is small and read on every
//! request, so nodes load it whole and reload it when the change feed says it changed.

use crate::app::ClientApp;
use crate::ids::{AppId, TenantId};
use crate::profile::Profile;
use crate::rights::RuleSet;
use crate::secret::SecretHash;
use crate::tenant::{Storefront, Tenant};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default, Debug)]
pub struct Directory {
    // Shared: requests take a tenant for their whole life without copying its settings.
    tenants: HashMap<TenantId, Arc<Tenant>>,
    by_slug: HashMap<String, TenantId>,
    by_brand_url: HashMap<String, TenantId>,
    stores: HashMap<TenantId, Vec<Storefront>>,
    // Shared, as tenants are: every authenticated request holds its app.
    apps: HashMap<AppId, Arc<ClientApp>>,
    by_client_id: HashMap<String, AppId>,
    by_key_hash: HashMap<SecretHash, AppId>,
    /// Each tenant's profiles, compiled for the rights engine.
    rules: HashMap<TenantId, HashMap<String, Arc<RuleSet>>>,
}

impl Directory {
    pub fn new(tenants: Vec<Tenant>, stores: Vec<Storefront>, apps: Vec<ClientApp>) -> Self {
        let mut d = Directory::default();
        for t in tenants {
            d.by_slug.insert(t.slug.clone(), t.id);
            for u in &t.brand_urls {
                d.by_brand_url.insert(u.to_ascii_lowercase(), t.id);
            }
            d.tenants.insert(t.id, Arc::new(t));
        }
        for s in stores {
            d.stores.entry(s.tenant_id).or_default().push(s);
        }
        for a in apps {
            d.by_client_id.insert(a.client_id.clone(), a.id);
            d.by_key_hash.insert(a.key_hash, a.id);
            d.apps.insert(a.id, Arc::new(a));
        }
        d
    }

    /// Adds the tenants' profiles, compiled once here for every request to use.
    pub fn with_profiles(mut self, profiles: Vec<Profile>) -> Self {
        for p in profiles {
            self.rules
                .entry(p.tenant_id)
                .or_default()
                .insert(p.name.clone(), Arc::new(RuleSet::new(&p.name, &p.rules)));
        }
        self
    }

    /// The compiled profiles of a tenant with these names (unknown names are skipped).
    pub fn rule_sets<'a>(
        &'a self,
        tenant: TenantId,
        names: &'a [String],
    ) -> impl Iterator<Item = &'a RuleSet> {
        let all = self.rules.get(&tenant);
        names
            .iter()
            .filter_map(move |n| all.and_then(|all| all.get(n)).map(Arc::as_ref))
    }

    pub fn tenant(&self, id: TenantId) -> Option<&Arc<Tenant>> {
        self.tenants.get(&id)
    }
    pub fn tenant_by_slug(&self, slug: &str) -> Option<&Arc<Tenant>> {
        self.by_slug.get(slug).and_then(|id| self.tenants.get(id))
    }
    pub fn tenant_by_brand_url(&self, url: &str) -> Option<&Arc<Tenant>> {
        self.by_brand_url
            .get(&url.to_ascii_lowercase())
            .and_then(|id| self.tenants.get(id))
    }
    pub fn tenants(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.tenants.values()
    }
    pub fn app(&self, id: AppId) -> Option<&Arc<ClientApp>> {
        self.apps.get(&id)
    }
    pub fn app_by_client_id(&self, client_id: &str) -> Option<&Arc<ClientApp>> {
        self.by_client_id
            .get(client_id)
            .and_then(|id| self.apps.get(id))
    }
    /// The app whose API key hashes to `hash`. Lookup by hash, so no comparison of secrets.
    pub fn app_by_key_hash(&self, hash: &SecretHash) -> Option<&Arc<ClientApp>> {
        self.by_key_hash.get(hash).and_then(|id| self.apps.get(id))
    }
    /// The tenant's enabled apps, by client id.
    pub fn apps_of(&self, tenant: TenantId) -> Vec<&Arc<ClientApp>> {
        let mut apps: Vec<&Arc<ClientApp>> = self
            .apps
            .values()
            .filter(|a| a.tenant_id == tenant && a.enabled)
            .collect();
        apps.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        apps
    }

    pub fn stores(&self, tenant: TenantId) -> &[Storefront] {
        self.stores
            .get(&tenant)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
    pub fn default_store(&self, tenant: TenantId) -> Option<&Storefront> {
        let stores = self.stores(tenant);
        stores
            .iter()
            .find(|s| s.is_default)
            .or_else(|| stores.first())
    }
    /// The store of a tenant with a JRNI company id.
    pub fn store_by_company(&self, tenant: TenantId, company_id: i64) -> Option<&Storefront> {
        self.stores(tenant)
            .iter()
            .find(|s| s.company_id == Some(company_id))
    }

    pub fn store_by_code(&self, tenant: TenantId, code: &str) -> Option<&Storefront> {
        self.stores(tenant).iter().find(|s| s.code == code)
    }
    pub fn store(&self, tenant: TenantId, id: crate::ids::StorefrontId) -> Option<&Storefront> {
        self.stores(tenant).iter().find(|s| s.id == id)
    }
}
