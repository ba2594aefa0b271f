//! Import and export of provisioning files. An import is checked whole before anything is
//! written, then applied in one transaction; records that would not change are left out of
//! the plan, so importing the same file twice writes nothing the second time.

use super::{AuditRecord, Core};
use crate::app::ClientApp;
use crate::error::{CoreError, CoreResult};
use crate::ids::{AppId, ProfileId, StorefrontId, TenantId, UserId};
use crate::keys;
use crate::password::{excessive_cost, hash_format};
use crate::policy::PolicyContext;
use crate::profile::{Profile, validate_name, validate_rules};
use crate::provisioning::{
    AppDoc, ProfileDoc, ProvisionPlan, ProvisioningDoc, StoreDoc, TenantDoc, UserDoc,
};
use crate::secret::SecretHash;
use crate::tenant::{Storefront, Tenant, valid_slug};
use crate::user::{User, UserKind, UserStatus, normalize_login, parse_email, parse_username};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use zeroize::Zeroizing;

/// Shortest API key accepted from a file: keys are stored as plain SHA-256, so they must not
/// be guessable.
pub const MIN_API_KEY_LEN: usize = 16;

/// What an import did, per kind of record: created, updated, unchanged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport(pub BTreeMap<&'static str, [usize; 3]>);

impl ImportReport {
    fn count(&mut self, what: &'static str, existing: bool, changed: bool) {
        let slot = match (existing, changed) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => 2,
        };
        self.0.entry(what).or_default()[slot] += 1;
    }
    /// Records created or updated.
    pub fn changes(&self) -> usize {
        self.0.values().map(|c| c[0] + c[1]).sum()
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, [c, u, n])| format!("{k}: {c} created, {u} updated, {n} unchanged"))
            .collect();
        if parts.is_empty() {
            f.write_str("nothing to import")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}

fn bad(path: impl fmt::Display, msg: impl fmt::Display) -> CoreError {
    CoreError::invalid("invalid_import", format!("{path}: {msg}"))
}

fn valid_code(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn valid_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Everything the store holds that an import compares against.
struct Existing {
    tenants: Vec<Tenant>,
    stores: Vec<Storefront>,
    apps: Vec<ClientApp>,
}

impl Core {
    /// Check `doc` whole, then apply it in one transaction.
    pub async fn import(&self, doc: &ProvisioningDoc) -> CoreResult<ImportReport> {
        let (plan, report) = self.plan_import(doc).await?;
        if !plan.is_empty() {
            self.store.apply_provisioning(&plan).await?;
            self.reload_directory().await?;
            self.reload_keys().await?;
            // A user the file disables or locks is signed out everywhere, as by the CLI.
            for user in plan.users.iter().filter(|u| u.status != UserStatus::Active) {
                self.end_user_sessions(user, "status_changed_by_import")
                    .await?;
            }
            // One event for the file (its changes may span tenants); the report says what.
            self.audit(AuditRecord {
                action: "import.applied",
                detail: report.to_string(),
                ..Default::default()
            })
            .await;
        }
        Ok(report)
    }

    pub async fn plan_import(
        &self,
        doc: &ProvisioningDoc,
    ) -> CoreResult<(ProvisionPlan, ImportReport)> {
        if doc.version != 1 {
            return Err(bad(
                "version",
                format!("unsupported version {}, expected 1", doc.version),
            ));
        }
        let existing = Existing {
            tenants: self.store.list_tenants().await?,
            stores: self.store.list_storefronts().await?,
            apps: self.store.list_apps().await?,
        };
        let now = self.now();
        let mut plan = ProvisionPlan {
            retire_previous_keys_at: now.plus(self.revocation_window()),
            ..Default::default()
        };
        let mut report = ImportReport::default();
        let mut slugs = HashSet::new();
        let mut brand_urls = HashMap::new();
        let mut client_ids = HashSet::new();
        let mut key_hashes = HashSet::new();
        for (i, t) in doc.tenants.iter().enumerate() {
            let path = format!("tenants[{i}]");
            if !slugs.insert(t.slug.as_str()) {
                return Err(bad(&path, format!("slug {:?} appears twice", t.slug)));
            }
            let tenant =
                self.plan_tenant(&path, t, &existing, &mut plan, &mut report, &mut brand_urls)?;
            let stores = self.plan_stores(&path, t, &tenant, &existing, &mut plan, &mut report)?;
            self.plan_apps(
                &path,
                t,
                &tenant,
                &existing,
                &mut plan,
                &mut report,
                &mut client_ids,
                &mut key_hashes,
            )?;
            let profiles = self
                .plan_profiles(&path, t, &tenant, &mut plan, &mut report)
                .await?;
            self.plan_users(
                &path,
                t,
                &tenant,
                &stores,
                &profiles,
                &mut plan,
                &mut report,
            )
            .await?;
        }
        Ok((plan, report))
    }

    fn plan_tenant(
        &self,
        path: &str,
        t: &TenantDoc,
        existing: &Existing,
        plan: &mut ProvisionPlan,
        report: &mut ImportReport,
        brand_urls: &mut HashMap<String, String>,
    ) -> CoreResult<Tenant> {
        if !valid_slug(&t.slug) {
            return Err(bad(
                format!("{path}.slug"),
                "must be 1-63 lower-case letters, digits or '-'",
            ));
        }
        if t.name.trim().is_empty() {
            return Err(bad(format!("{path}.name"), "must not be empty"));
        }
        let tk = &t.tokens;
        if tk.access_ttl.is_zero()
            || tk.refresh_ttl.is_zero()
            || tk.session_max_age.is_zero()
            || tk.opaque_idle_ttl.is_zero()
            || tk.guest_idle_ttl.is_zero()
        {
            return Err(bad(
                format!("{path}.tokens"),
                "lifetimes must be longer than zero",
            ));
        }
        if tk.access_ttl_by_kind.values().any(|d| d.is_zero()) {
            return Err(bad(
                format!("{path}.tokens.access_ttl_by_kind"),
                "lifetimes must be longer than zero",
            ));
        }
        let l = &t.limits;
        if l.window.is_zero() || l.per_ip == 0 || l.per_account == 0 || l.per_account_ip == 0 {
            return Err(bad(
                format!("{path}.limits"),
                "the window and the limits must be above zero",
            ));
        }
        if t.passwords.reset_ttl.is_zero() {
            return Err(bad(
                format!("{path}.passwords.reset_ttl"),
                "must be longer than zero",
            ));
        }
        let old = existing.tenants.iter().find(|x| x.slug == t.slug);
        let mut urls = Vec::new();
        for (j, u) in t.brand_urls.iter().enumerate() {
            // Stored as the host a Brand-URL header is reduced to, so every entry can match.
            let u = crate::tenant::brand_host(u);
            if u.is_empty() || u.chars().any(char::is_whitespace) {
                return Err(bad(
                    format!("{path}.brand_urls[{j}]"),
                    "must be a non-empty URL or host",
                ));
            }
            let other_tenant = existing
                .tenants
                .iter()
                .find(|x| x.slug != t.slug && x.brand_urls.contains(&u));
            if let Some(prev) = brand_urls
                .insert(u.clone(), t.slug.clone())
                .or(other_tenant.map(|x| x.slug.clone()))
            {
                return Err(bad(
                    format!("{path}.brand_urls[{j}]"),
                    format!("{u:?} already selects tenant {prev:?}"),
                ));
            }
            urls.push(u);
        }
        let tenant = Tenant {
            id: old.map_or_else(TenantId::new, |o| o.id),
            slug: t.slug.clone(),
            name: t.name.clone(),
            brand_urls: urls,
            password_policy: t.password_policy,
            signing_alg: t.signing_alg,
            tokens: t.tokens.clone(),
            passwords: t.passwords.clone(),
            limits: t.limits.clone(),
            default_profiles: t.default_profiles.clone(),
            enabled: t.enabled,
            created_at: old.map_or_else(|| self.now(), |o| o.created_at),
        };
        let changed = old != Some(&tenant);
        report.count("tenants", old.is_some(), changed);
        if changed {
            plan.tenants.push(tenant.clone());
        }
        if old.is_none_or(|o| o.signing_alg != tenant.signing_alg) {
            plan.keys.push(keys::generate(
                tenant.id,
                tenant.signing_alg,
                &self.master,
                self.now(),
            )?);
        }
        Ok(tenant)
    }

    fn plan_stores(
        &self,
        path: &str,
        t: &TenantDoc,
        tenant: &Tenant,
        existing: &Existing,
        plan: &mut ProvisionPlan,
        report: &mut ImportReport,
    ) -> CoreResult<Vec<Storefront>> {
        let mut all: Vec<Storefront> = existing
            .stores
            .iter()
            .filter(|s| s.tenant_id == tenant.id)
            .cloned()
            .collect();
        if t.stores.iter().filter(|s| s.default).count() > 1 {
            return Err(bad(
                format!("{path}.stores"),
                "only one store may be the default",
            ));
        }
        let mut codes = HashSet::new();
        for (j, s) in t.stores.iter().enumerate() {
            let sp = format!("{path}.stores[{j}]");
            let StoreDoc {
                code,
                company_id,
                name,
                default,
                views,
            } = s;
            if !valid_code(code) {
                return Err(bad(
                    format!("{sp}.code"),
                    "must be 1-128 characters without spaces",
                ));
            }
            if !codes.insert(code.as_str()) {
                return Err(bad(format!("{sp}.code"), format!("{code:?} appears twice")));
            }
            if let Some(v) = views.iter().find(|v| !valid_code(v)) {
                return Err(bad(
                    format!("{sp}.views"),
                    format!("{v:?} is not a valid view code"),
                ));
            }
            let old = all.iter().position(|x| &x.code == code);
            let store = Storefront {
                id: old.map_or_else(StorefrontId::new, |k| all[k].id),
                tenant_id: tenant.id,
                code: code.clone(),
                company_id: *company_id,
                name: if name.is_empty() {
                    code.clone()
                } else {
                    name.clone()
                },
                is_default: *default,
                views: views.clone(),
            };
            let changed = old.is_none_or(|k| all[k] != store);
            report.count("stores", old.is_some(), changed);
            if changed {
                plan.storefronts.push(store.clone());
            }
            match old {
                Some(k) => all[k] = store,
                None => all.push(store),
            }
        }
        // A new default store takes the flag from the old one.
        if let Some(new_default) = t.stores.iter().find(|s| s.default) {
            for s in all
                .iter_mut()
                .filter(|s| s.is_default && s.code != new_default.code)
            {
                s.is_default = false;
                plan.storefronts.push(s.clone());
            }
        }
        Ok(all)
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_apps(
        &self,
        path: &str,
        t: &TenantDoc,
        tenant: &Tenant,
        existing: &Existing,
        plan: &mut ProvisionPlan,
        report: &mut ImportReport,
        client_ids: &mut HashSet<String>,
        key_hashes: &mut HashSet<SecretHash>,
    ) -> CoreResult<()> {
        for (j, a) in t.apps.iter().enumerate() {
            let ap = format!("{path}.apps[{j}]");
            let AppDoc {
                client_id,
                name,
                api_key,
                kinds,
                grants,
                redirect_hosts,
                enabled,
            } = a;
            if !valid_code(client_id) {
                return Err(bad(
                    format!("{ap}.client_id"),
                    "must be 1-128 characters without spaces",
                ));
            }
            if !client_ids.insert(client_id.clone()) {
                return Err(bad(
                    format!("{ap}.client_id"),
                    format!("{client_id:?} appears twice"),
                ));
            }
            let old = existing.apps.iter().find(|x| &x.client_id == client_id);
            if let Some(o) = old
                && o.tenant_id != tenant.id
            {
                return Err(bad(
                    format!("{ap}.client_id"),
                    format!("{client_id:?} belongs to another tenant"),
                ));
            }
            let key_hash = match (api_key, old) {
                (Some(k), _) if k.len() < MIN_API_KEY_LEN || k.chars().any(char::is_whitespace) => {
                    return Err(bad(
                        format!("{ap}.api_key"),
                        format!("must be at least {MIN_API_KEY_LEN} characters without spaces"),
                    ));
                }
                (Some(k), _) => SecretHash::of(k),
                (None, Some(o)) => o.key_hash,
                (None, None) => {
                    return Err(bad(format!("{ap}.api_key"), "a new app needs an api_key"));
                }
            };
            let taken = existing
                .apps
                .iter()
                .any(|x| x.client_id != *client_id && x.key_hash == key_hash);
            if !key_hashes.insert(key_hash) || taken {
                return Err(bad(
                    format!("{ap}.api_key"),
                    "this key is already used by another app",
                ));
            }
            if kinds.is_empty() {
                return Err(bad(
                    format!("{ap}.kinds"),
                    "must list at least one user kind",
                ));
            }
            if let Some(h) = redirect_hosts.iter().find(|h| !valid_host(h)) {
                return Err(bad(
                    format!("{ap}.redirect_hosts"),
                    format!("{h:?} is not a host name"),
                ));
            }
            let app = ClientApp {
                id: old.map_or_else(AppId::new, |o| o.id),
                tenant_id: tenant.id,
                client_id: client_id.clone(),
                name: if name.is_empty() {
                    client_id.clone()
                } else {
                    name.clone()
                },
                key_hash,
                kinds: kinds.clone(),
                grants: grants.clone(),
                redirect_hosts: redirect_hosts
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
                enabled: *enabled,
            };
            let changed = old != Some(&app);
            report.count("apps", old.is_some(), changed);
            if changed {
                plan.apps.push(app);
            }
        }
        Ok(())
    }

    async fn plan_profiles(
        &self,
        path: &str,
        t: &TenantDoc,
        tenant: &Tenant,
        plan: &mut ProvisionPlan,
        report: &mut ImportReport,
    ) -> CoreResult<Vec<Profile>> {
        let mut all = self.store.list_profiles(tenant.id).await?;
        let mut names = HashSet::new();
        for (j, p) in t.profiles.iter().enumerate() {
            let pp = format!("{path}.profiles[{j}]");
            let ProfileDoc { name, rules } = p;
            validate_name(name).map_err(|m| bad(format!("{pp}.name"), m))?;
            if !names.insert(name.as_str()) {
                return Err(bad(format!("{pp}.name"), format!("{name:?} appears twice")));
            }
            validate_rules(rules)
                .map_err(|(k, field, m)| bad(format!("{pp}.rules[{k}].{field}"), m))?;
            let old = all.iter().position(|x| &x.name == name);
            let profile = Profile {
                id: old.map_or_else(ProfileId::new, |k| all[k].id),
                tenant_id: tenant.id,
                name: name.clone(),
                rules: rules.clone(),
            };
            let changed = old.is_none_or(|k| all[k] != profile);
            report.count("profiles", old.is_some(), changed);
            if changed {
                plan.profiles.push(profile.clone());
            }
            match old {
                Some(k) => all[k] = profile,
                None => all.push(profile),
            }
        }
        for (kind, wanted) in &t.default_profiles {
            if let Some(n) = wanted.iter().find(|n| !all.iter().any(|p| &p.name == *n)) {
                return Err(bad(
                    format!("{path}.default_profiles.{kind}"),
                    format!("no profile named {n:?}"),
                ));
            }
        }
        Ok(all)
    }

    #[allow(clippy::too_many_arguments)]
    async fn plan_users(
        &self,
        path: &str,
        t: &TenantDoc,
        tenant: &Tenant,
        stores: &[Storefront],
        profiles: &[Profile],
        plan: &mut ProvisionPlan,
        report: &mut ImportReport,
    ) -> CoreResult<()> {
        let existing = self.store.list_users(tenant.id, None).await?;
        let index = |kind: UserKind, login: &str, by_email: bool| {
            existing.iter().find(|u| {
                let field = if by_email { &u.email } else { &u.username };
                u.kind == kind
                    && field
                        .as_deref()
                        .is_some_and(|v| normalize_login(v) == login)
            })
        };
        let mut seen: HashSet<(UserKind, bool, String)> = HashSet::new();
        for (j, u) in t.users.iter().enumerate() {
            let up = format!("{path}.users[{j}]");
            let UserDoc {
                kind,
                email,
                username,
                password,
                password_hash,
                phone,
                store,
                status,
                profiles: wanted,
            } = u;
            let email = email
                .as_deref()
                .map(parse_email)
                .transpose()
                .map_err(|m| bad(format!("{up}.email"), m))?;
            let username = username
                .as_deref()
                .map(parse_username)
                .transpose()
                .map_err(|m| bad(format!("{up}.username"), m))?;
            let phone = phone
                .as_deref()
                .map(crate::user::parse_phone)
                .transpose()
                .map_err(|m| bad(format!("{up}.phone"), m))?;
            if email.is_none() && username.is_none() {
                return Err(bad(&up, "a user needs an e-mail or a username"));
            }
            let by_email = email.as_deref().map(normalize_login);
            let by_name = username.as_deref().map(normalize_login);
            for (is_email, key) in [(true, &by_email), (false, &by_name)] {
                if let Some(k) = key
                    && !seen.insert((*kind, is_email, k.clone()))
                {
                    return Err(bad(
                        &up,
                        format!(
                            "another {kind} in this file has the same {}",
                            if is_email { "e-mail" } else { "username" }
                        ),
                    ));
                }
            }
            let old_by_email = by_email.as_deref().and_then(|e| index(*kind, e, true));
            let old_by_name = by_name.as_deref().and_then(|n| index(*kind, n, false));
            let old = match (old_by_email, old_by_name) {
                (Some(a), Some(b)) if a.id != b.id => {
                    return Err(bad(
                        &up,
                        "the e-mail and the username belong to two different existing users",
                    ));
                }
                (a, b) => a.or(b),
            };
            // A username or e-mail may not collide with another existing user of the kind.
            let clash =
                |other: Option<&User>| other.is_some_and(|o| old.is_none_or(|x| x.id != o.id));
            if clash(old_by_email) || clash(old_by_name) {
                return Err(bad(&up, "the e-mail or username is taken by another user"));
            }
            let store_id = match store {
                Some(code) => Some(
                    stores
                        .iter()
                        .find(|s| &s.code == code)
                        .map(|s| s.id)
                        .ok_or_else(|| {
                            bad(
                                format!("{up}.store"),
                                format!("no store with code {code:?}"),
                            )
                        })?,
                ),
                None => old.and_then(|o| o.store_id),
            };
            let old_origin = old.and_then(|o| o.password_origin.clone());
            let (hash, origin) = match (password, password_hash) {
                (Some(_), Some(_)) => {
                    return Err(bad(&up, "give password or password_hash, not both"));
                }
                (Some(pw), None) => {
                    let ctx = PolicyContext {
                        email: email.as_deref(),
                        username: username.as_deref(),
                    };
                    let violations = tenant.password_policy.check(pw, ctx);
                    if let Some(v) = violations.first() {
                        let all: Vec<&str> = violations.iter().map(|v| v.code).collect();
                        return Err(bad(
                            format!("{up}.password"),
                            format!("{} ({})", v.message, all.join(", ")),
                        ));
                    }
                    let current = old.and_then(|o| o.password_hash.clone());
                    let keep = match &current {
                        Some(h) => {
                            self.hasher
                                .verify(Some(h.clone()), Zeroizing::new(pw.clone()))
                                .await?
                                .matched
                        }
                        None => false,
                    };
                    if keep {
                        (current, old_origin)
                    } else {
                        (
                            Some(self.hasher.hash(Zeroizing::new(pw.clone())).await?),
                            None,
                        )
                    }
                }
                (None, Some(h)) => {
                    if hash_format(h).is_none() {
                        return Err(bad(
                            format!("{up}.password_hash"),
                            "not an argon2, bcrypt ($2a$/$2b$/$2y$) or pbkdf2-sha256 hash",
                        ));
                    }
                    if let Some(why) = excessive_cost(h) {
                        return Err(bad(format!("{up}.password_hash"), why));
                    }
                    let digest = SecretHash::of(h).to_hex();
                    if old_origin.as_deref() == Some(digest.as_str()) {
                        // The password this file set is still the user's (perhaps rehashed).
                        (old.and_then(|o| o.password_hash.clone()), old_origin)
                    } else {
                        (Some(h.clone()), Some(digest))
                    }
                }
                (None, None) => (old.and_then(|o| o.password_hash.clone()), old_origin),
            };
            let profile_ids = match wanted {
                Some(names) => Some(
                    names
                        .iter()
                        .map(|n| {
                            profiles
                                .iter()
                                .find(|p| &p.name == n)
                                .map(|p| p.id)
                                .ok_or_else(|| {
                                    bad(format!("{up}.profiles"), format!("no profile named {n:?}"))
                                })
                        })
                        .collect::<CoreResult<Vec<_>>>()?,
                ),
                None => None,
            };
            let now = self.now();
            let same_password = old.is_some_and(|o| o.password_hash == hash);
            let mut user = User {
                id: old.map_or_else(UserId::new, |o| o.id),
                tenant_id: tenant.id,
                kind: *kind,
                email,
                username,
                phone: phone.or_else(|| old.and_then(|o| o.phone.clone())),
                status: status
                    .or(old.map(|o| o.status))
                    .unwrap_or(UserStatus::Active),
                password_hash: hash,
                password_origin: origin,
                password_changed_at: match old {
                    Some(o) if same_password => o.password_changed_at,
                    _ => now,
                },
                store_id,
                created_at: old.map_or(now, |o| o.created_at),
                updated_at: old.map_or(now, |o| o.updated_at),
            };
            let changed = old != Some(&user);
            if changed {
                user.updated_at = now;
                plan.users.push(user.clone());
            }
            let mut profiles_changed = false;
            if let Some(mut ids) = profile_ids {
                ids.sort();
                ids.dedup();
                let mut current = match old {
                    Some(o) => self.store.user_profile_ids(o.id).await?,
                    None => Vec::new(),
                };
                current.sort();
                if ids != current {
                    profiles_changed = true;
                    plan.user_profiles.push((user.id, ids));
                }
            }
            report.count("users", old.is_some(), changed || profiles_changed);
        }
        Ok(())
    }

    /// The store's contents in the provisioning format, without secrets (no API keys,
    /// passwords or hashes).
    pub async fn export(&self) -> CoreResult<ProvisioningDoc> {
        let mut tenants = self.store.list_tenants().await?;
        tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
        let stores = self.store.list_storefronts().await?;
        let apps = self.store.list_apps().await?;
        let mut out = ProvisioningDoc {
            version: 1,
            tenants: Vec::new(),
        };
        for t in tenants {
            let mut doc = TenantDoc {
                slug: t.slug.clone(),
                name: t.name.clone(),
                brand_urls: t.brand_urls.clone(),
                password_policy: t.password_policy,
                signing_alg: t.signing_alg,
                enabled: t.enabled,
                tokens: t.tokens.clone(),
                passwords: t.passwords.clone(),
                limits: t.limits.clone(),
                default_profiles: t.default_profiles.clone(),
                ..Default::default()
            };
            let mut own_stores: Vec<&Storefront> =
                stores.iter().filter(|s| s.tenant_id == t.id).collect();
            own_stores.sort_by(|a, b| a.code.cmp(&b.code));
            doc.stores = own_stores
                .iter()
                .map(|s| StoreDoc {
                    code: s.code.clone(),
                    company_id: s.company_id,
                    name: s.name.clone(),
                    default: s.is_default,
                    views: s.views.clone(),
                })
                .collect();
            let mut own_apps: Vec<&ClientApp> =
                apps.iter().filter(|a| a.tenant_id == t.id).collect();
            own_apps.sort_by(|a, b| a.client_id.cmp(&b.client_id));
            doc.apps = own_apps
                .iter()
                .map(|a| AppDoc {
                    client_id: a.client_id.clone(),
                    name: a.name.clone(),
                    api_key: None,
                    kinds: a.kinds.clone(),
                    grants: a.grants.clone(),
                    redirect_hosts: a.redirect_hosts.clone(),
                    enabled: a.enabled,
                })
                .collect();
            let mut profiles = self.store.list_profiles(t.id).await?;
            profiles.sort_by(|a, b| a.name.cmp(&b.name));
            doc.profiles = profiles
                .iter()
                .map(|p| ProfileDoc {
                    name: p.name.clone(),
                    rules: p.rules.clone(),
                })
                .collect();
            let mut users = self.store.list_users(t.id, None).await?;
            users.sort_by(|a, b| {
                (a.kind, &a.email, &a.username).cmp(&(b.kind, &b.email, &b.username))
            });
            for u in users {
                let mut names = self.store.user_profile_names(u.id).await?;
                names.sort();
                doc.users.push(UserDoc {
                    kind: u.kind,
                    email: u.email.clone(),
                    username: u.username.clone(),
                    password: None,
                    password_hash: None,
                    phone: u.phone.clone(),
                    store: u
                        .store_id
                        .and_then(|id| stores.iter().find(|s| s.id == id))
                        .map(|s| s.code.clone()),
                    status: (u.status != UserStatus::Active).then_some(u.status),
                    profiles: (!names.is_empty()).then_some(names),
                });
            }
            out.tenants.push(doc);
        }
        Ok(out)
    }
}
