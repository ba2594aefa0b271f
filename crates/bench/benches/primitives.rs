//! Micro-benchmarks of the hot paths' parts: signing and verifying access tokens (each
//! algorithm a tenant may choose), validating a token through the core's cache (what every
//! introspection, is-token-valid and forward-auth pays), hashing and minting refresh tokens,
//! and the rights engine. `cargo bench -p portcullis-bench`; results in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{BenchmarkId, Criterion, black_box, criterion_group, criterion_main};
use portcullis_core::app::ClientApp;
use portcullis_core::clock::Timestamp;
use portcullis_core::ids::TenantId;
use portcullis_core::keys::{self, KeyRing};
use portcullis_core::password::HashingSettings;
use portcullis_core::provisioning::ProvisioningDoc;
use portcullis_core::secret::MasterKey;
use portcullis_core::service::PasswordLogin;
use portcullis_core::tenant::SigningAlg;
use portcullis_core::token::{self, AccessClaims};
use portcullis_core::{Core, CoreSettings, Store, SystemClock};
use portcullis_rights::{Right, RouteRule, RuleSet, allows, decide};
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;

fn claims() -> AccessClaims {
    AccessClaims {
        iss: "http://127.0.0.1:8080".into(),
        sub: "0190a0a0-0000-7000-8000-000000000001".into(),
        aud: "acme".into(),
        exp: 4_000_000_000,
        iat: 1_800_000_000,
        jti: "0190a0a0-0000-7000-8000-000000000002".into(),
        sid: "0190a0a0-0000-7000-8000-000000000003".into(),
        client_id: "acme-web".into(),
        tenant: "acme".into(),
        store: Some("DEFAULT".into()),
        store_view: None,
        kind: "customer".into(),
        profiles: vec!["buyer".into()],
        extra: Default::default(),
    }
}

fn jwt(c: &mut Criterion) {
    let master = MasterKey::from_text(&"b".repeat(40)).unwrap();
    let mut group = c.benchmark_group("jwt");
    for alg in [SigningAlg::EdDSA, SigningAlg::ES256, SigningAlg::RS256] {
        let stored = keys::generate(TenantId::new(), alg, &master, Timestamp(0)).unwrap();
        let ring = KeyRing::load(std::slice::from_ref(&stored), &master).unwrap();
        let key = ring.get(&stored.kid).unwrap();
        let claims = claims();
        group.bench_function(BenchmarkId::new("sign", format!("{alg:?}")), |b| {
            b.iter(|| key.sign_jwt(black_box(&claims)).unwrap())
        });
        let token = key.sign_jwt(&claims).unwrap();
        let mut validation = jsonwebtoken::Validation::new(key.jwt_alg());
        validation.set_audience(&["acme"]);
        group.bench_function(BenchmarkId::new("verify", format!("{alg:?}")), |b| {
            b.iter(|| {
                jsonwebtoken::decode::<AccessClaims>(black_box(&token), &key.decoding, &validation)
                    .unwrap()
            })
        });
    }
    group.finish();
}

/// A core on a real SQLite file with one user, and an access token of hers.
fn core_with_token(rt: &tokio::runtime::Runtime) -> (tempfile::TempDir, Arc<Core>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let core = rt.block_on(async {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
        let settings = CoreSettings {
            hashing: HashingSettings {
                memory_kib: 64,
                iterations: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        let master = MasterKey::from_text(&"c".repeat(40)).unwrap();
        Arc::new(
            Core::start(store, Arc::new(SystemClock), master, settings)
                .await
                .unwrap(),
        )
    });
    let doc: ProvisioningDoc = serde_json::from_value(serde_json::json!({
        "version": 1,
        "tenants": [{"slug": "acme", "name": "ACME",
            "apps": [{"client_id": "acme-web", "api_key": "acme-web-api-key-0001",
                      "kinds": ["customer"], "grants": ["password", "refresh_token"]}],
            "users": [{"kind": "customer", "email": "alice@example.com",
                       "password": "Bench-Passw0rd!"}]}]
    }))
    .unwrap();
    let token = rt.block_on(async {
        core.import(&doc).await.unwrap();
        let app: Arc<ClientApp> = core.app_by_client_id("acme-web").unwrap();
        let login = PasswordLogin {
            login: "alice@example.com".into(),
            password: zeroize::Zeroizing::new("Bench-Passw0rd!".into()),
            kind: None,
            store: None,
            store_view: None,
            ctx: Default::default(),
        };
        core.login_password(&app, login).await.unwrap().access_token
    });
    (dir, core, token)
}

fn validation(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_dir, core, token) = core_with_token(&rt);
    core.validate_access(&token).unwrap();
    c.bench_function("validate_access (cached)", |b| {
        b.iter(|| core.validate_access(black_box(&token)).unwrap())
    });
}

fn refresh_tokens(c: &mut Criterion) {
    let now = Timestamp(1_767_225_600_123);
    let token = token::new_refresh_token(now);
    c.bench_function("refresh token: new", |b| {
        b.iter(|| token::new_refresh_token(black_box(now)))
    });
    c.bench_function("refresh token: storage key (SHA-256)", |b| {
        b.iter(|| token::refresh_key(black_box(&token)))
    });
}

fn rights(c: &mut Criterion) {
    // A profile of 50 rules, as a large tenant might write, and a request matching a deep one.
    let mut rules: Vec<RouteRule> = (0..48)
        .map(|i| RouteRule {
            route: format!("/v1/area{i}/{{id}}/items/**"),
            right: if i % 2 == 0 {
                Right::Read
            } else {
                Right::ReadWrite
            },
            methods: None,
        })
        .collect();
    rules.push(RouteRule {
        route: "/v1/orders/{id}".into(),
        right: Right::ReadWrite,
        methods: Some(vec!["PUT".into()]),
    });
    rules.push(RouteRule {
        route: "/**".into(),
        right: Right::None,
        methods: None,
    });
    let set = RuleSet::new("big", &rules);
    c.bench_function("rights: compile 50 rules", |b| {
        b.iter(|| RuleSet::new("big", black_box(&rules)))
    });
    c.bench_function("rights: decide among 50 rules", |b| {
        b.iter(|| decide([&set], "PUT", black_box("/v1/area47/9f3a/items/x/y")))
    });
    // What forward-auth and the guard ask first: the verdict without its explanation.
    c.bench_function("rights: allows among 50 rules", |b| {
        b.iter(|| allows([&set], "PUT", black_box("/v1/area47/9f3a/items/x/y")))
    });
}

criterion_group!(benches, jwt, validation, refresh_tokens, rights);
criterion_main!(benches);
