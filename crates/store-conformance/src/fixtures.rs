//! Records for the checks: one tenant with a store, an app and two profiles.

use portcullis_core::Timestamp;
use portcullis_core::app::{ClientApp, Grant};
use portcullis_core::audit::AuditEvent;
use portcullis_core::basket::{Basket, Purchase};
use portcullis_core::ids::{
    AppId, AuditId, BasketId, ProfileId, PurchaseId, SessionId, StorefrontId, TenantId, UserId,
};
use portcullis_core::opaque::OpaqueRecord;
use portcullis_core::profile::{Profile, Right, RouteRule};
use portcullis_core::provisioning::ProvisionPlan;
use portcullis_core::secret::SecretHash;
use portcullis_core::session::{RefreshRecord, Rotation, Session, SessionTouch};
use portcullis_core::tenant::{SigningAlg, Storefront, Tenant, TokenSettings};
use portcullis_core::user::{User, UserKind, UserStatus};
use std::time::Duration;

pub const T0: Timestamp = Timestamp(1_700_000_000_000);

#[derive(Clone)]
pub struct World {
    pub tenant: Tenant,
    pub store: Storefront,
    pub app: ClientApp,
    pub profiles: Vec<Profile>,
}

pub fn world(slug: &str) -> World {
    let tenant = Tenant {
        id: TenantId::new(),
        slug: slug.to_owned(),
        name: format!("Tenant {slug}"),
        brand_urls: vec![format!("https://{slug}.example.com")],
        password_policy: Default::default(),
        signing_alg: SigningAlg::EdDSA,
        tokens: TokenSettings::default(),
        passwords: Default::default(),
        limits: Default::default(),
        default_profiles: Default::default(),
        enabled: true,
        created_at: T0,
    };
    let store = Storefront {
        id: StorefrontId::new(),
        tenant_id: tenant.id,
        code: "main".into(),
        company_id: Some(37000),
        name: "Main store".into(),
        is_default: true,
        views: vec!["fr".into(), "en".into()],
    };
    let app = ClientApp {
        id: AppId::new(),
        tenant_id: tenant.id,
        client_id: format!("{slug}-web"),
        name: "Web shop".into(),
        key_hash: SecretHash::of(&format!("key-of-{slug}-web-0123456789")),
        kinds: vec![UserKind::Customer, UserKind::Operator],
        grants: vec![Grant::Password, Grant::RefreshToken],
        redirect_hosts: vec![format!("{slug}.example.com")],
        enabled: true,
    };
    let profiles = ["buyers", "admins"]
        .iter()
        .map(|name| Profile {
            id: ProfileId::new(),
            tenant_id: tenant.id,
            name: (*name).to_owned(),
            rules: vec![RouteRule {
                route: "/v1/orders/**".into(),
                right: Right::Read,
                methods: None,
            }],
        })
        .collect();
    World {
        tenant,
        store,
        app,
        profiles,
    }
}

impl World {
    pub fn plan(&self) -> ProvisionPlan {
        ProvisionPlan {
            tenants: vec![self.tenant.clone()],
            storefronts: vec![self.store.clone()],
            apps: vec![self.app.clone()],
            profiles: self.profiles.clone(),
            retire_previous_keys_at: T0,
            ..Default::default()
        }
    }

    pub fn user(&self, kind: UserKind, email: Option<&str>, username: Option<&str>) -> User {
        User {
            id: UserId::new(),
            tenant_id: self.tenant.id,
            kind,
            email: email.map(str::to_owned),
            username: username.map(str::to_owned),
            phone: None,
            status: UserStatus::Active,
            password_hash: Some(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
            ),
            password_origin: None,
            password_changed_at: T0,
            store_id: Some(self.store.id),
            created_at: T0,
            updated_at: T0,
        }
    }

    pub fn session(&self, user: &User, at: Timestamp) -> Session {
        Session {
            id: SessionId::new(),
            tenant_id: self.tenant.id,
            user_id: Some(user.id),
            kind: Some(user.kind),
            app_id: self.app.id,
            store_id: Some(self.store.id),
            store_view: Some("fr".into()),
            device_id: None,
            created_at: at,
            last_used_at: at,
            idle_expires_at: at.plus(Duration::from_secs(7200)),
            absolute_expires_at: at.plus(Duration::from_secs(86400)),
            revoked_at: None,
            revoked_reason: None,
            ip: Some("127.0.0.1".into()),
        }
    }

    /// An audit event of `session`, opened by `user` through the app.
    pub fn session_event(
        &self,
        user: &User,
        session: SessionId,
        at: Timestamp,
        action: &str,
        detail: &str,
    ) -> AuditEvent {
        AuditEvent {
            id: AuditId::new(),
            at,
            tenant_id: Some(self.tenant.id),
            user_id: Some(user.id),
            app_id: Some(self.app.id),
            session_id: Some(session),
            action: action.into(),
            detail: detail.into(),
            ip: Some("192.0.2.7".into()),
        }
    }
}

pub fn refresh(session: SessionId, secret: &str, at: Timestamp) -> RefreshRecord {
    RefreshRecord {
        hash: SecretHash::of(secret),
        session_id: session,
        issued_at: at,
        expires_at: at.plus(Duration::from_secs(7200)),
        rotated_at: None,
        successor: None,
    }
}

/// A rotation of `old` into `next` at `next.issued_at`, its pair sealed as `sealed`.
pub fn rotation(old: &RefreshRecord, sealed: &str, next: RefreshRecord) -> Rotation {
    Rotation {
        old: old.hash,
        successor: sealed.as_bytes().to_vec(),
        touch: SessionTouch {
            last_used_at: next.issued_at,
            idle_expires_at: next.expires_at,
        },
        next,
        audit: None,
    }
}

impl World {
    /// An open JRNI basket of `session`, with one item.
    pub fn basket(&self, session: SessionId, user: Option<UserId>) -> Basket {
        Basket {
            id: BasketId::new(),
            tenant_id: self.tenant.id,
            company_id: 37000,
            session_id: session,
            user_id: user,
            items: vec![serde_json::json!({"service_id": 1})],
            created_at: T0,
            checked_out_at: None,
        }
    }
}

/// The purchase checking `basket` out, a minute after it was made.
pub fn purchase(basket: &Basket, long_id: &str) -> Purchase {
    Purchase {
        id: PurchaseId::new(),
        long_id_hash: SecretHash::of(long_id),
        tenant_id: basket.tenant_id,
        company_id: basket.company_id,
        basket_id: basket.id,
        user_id: basket.user_id,
        items: basket.items.clone(),
        client: serde_json::json!({"name": "Alice"}),
        created_at: basket.created_at.plus(Duration::from_secs(60)),
    }
}

/// A member's sliding opaque token for `session`, last used at `at`, idle for 15 minutes.
pub fn opaque(session: SessionId, secret: &str, at: Timestamp) -> OpaqueRecord {
    OpaqueRecord {
        hash: SecretHash::of(secret),
        session_id: session,
        role: "member".into(),
        created_at: at,
        last_used_at: at,
        idle_ttl: Duration::from_secs(900),
        sliding: true,
    }
}
