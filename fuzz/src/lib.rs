//! What the fuzz targets share: one core on a real SQLite file, provisioned with a tenant
//! that every API can reach, and a way to turn the fuzzer's bytes into a request to one
//! API's router (the real extractors, validation and error rendering, no network).
//!
//! The property every HTTP target checks: whatever the input, the answer is not a server
//! error. A panic or a 500 is a finding.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::BodyExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use portcullis_core::clock::FixedClock;
use portcullis_core::password::HashingSettings;
use portcullis_core::provisioning::ProvisioningDoc;
use portcullis_core::secret::MasterKey;
use portcullis_core::{Core, CoreSettings, Store, Timestamp};
use portcullis_store_sqlite::SqliteStore;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

pub const CLIENT_ID: &str = "fuzz-app";
pub const API_KEY: &str = "fuzz-app-api-key-0123456789";
pub const PASSWORD: &str = "Fuzz-Passw0rd!";
pub const BRAND: &str = "fuzz.example";

const DOC: &str = r#"{
  "version": 1,
  "tenants": [{
    "slug": "fuzz", "name": "Fuzz", "brand_urls": ["fuzz.example"],
    "limits": {"per_ip": 1000000000, "per_account": 1000000000, "per_account_ip": 1000000000},
    "stores": [{"code": "DEFAULT", "company_id": 1, "name": "Default", "default": true,
                "views": ["en"]}],
    "apps": [{"client_id": "fuzz-app", "api_key": "fuzz-app-api-key-0123456789",
              "kinds": ["customer", "operator", "supplier", "guest"],
              "grants": ["password", "refresh_token", "client_credentials"],
              "redirect_hosts": ["fuzz.example"]}],
    "profiles": [{"name": "admin", "rules": [{"route": "/**", "right": "read-write"}]}],
    "users": [
      {"kind": "customer", "email": "alice@fuzz.example", "username": "alice",
       "password": "Fuzz-Passw0rd!"},
      {"kind": "operator", "email": "oscar@fuzz.example", "password": "Fuzz-Passw0rd!",
       "profiles": ["admin"]},
      {"kind": "supplier", "email": "sam@fuzz.example", "password": "Fuzz-Passw0rd!"}
    ]
  }]
}"#;

pub struct World {
    pub rt: tokio::runtime::Runtime,
    pub core: Arc<Core>,
    _dir: tempfile::TempDir,
}

/// The process's one world, built on first use.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::new)
}

impl World {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fuzz.db");
        let clock = Arc::new(FixedClock::new(Timestamp::from_secs(1_800_000_000)));
        let core = rt.block_on(async {
            let store: Arc<dyn Store> =
                Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap());
            let master = MasterKey::from_text("fuzz-master-key-0123456789abcdef").unwrap();
            // Cheap hashing: the fuzzer is after parsers, not the cost of argon2id.
            let settings = CoreSettings {
                hashing: HashingSettings {
                    memory_kib: 64,
                    iterations: 1,
                    ..Default::default()
                },
                ..Default::default()
            };
            let core = Core::start(store, clock, master, settings).await.unwrap();
            let doc: ProvisioningDoc = serde_json::from_str(DOC).unwrap();
            core.import(&doc).await.unwrap();
            Arc::new(core)
        });
        World {
            rt,
            core,
            _dir: dir,
        }
    }

    /// Sends one request. The clock stands still, so the genuine tokens stay valid; the
    /// tenant's limits are far above any run, so the code behind them stays reachable.
    pub fn send(&self, router: &Router, mut req: Request<Body>) -> (StatusCode, Bytes) {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        self.rt.block_on(async {
            let resp = router.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, body)
        })
    }
}

/// One API as the fuzzer sees it: its router, its routes (from its own OpenAPI document),
/// the headers that select the fuzz tenant, and a genuine token to reach authenticated code.
pub struct Api {
    pub name: &'static str,
    pub router: Router,
    pub routes: Vec<(Method, String)>,
    pub headers: Vec<(&'static str, String)>,
    pub token: Option<String>,
}

impl Api {
    pub fn new(
        name: &'static str,
        router: Router,
        openapi: &str,
        headers: &[(&'static str, &str)],
    ) -> Self {
        let doc: serde_json::Value = serde_json::from_str(openapi).unwrap();
        let mut routes = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in ["get", "post", "put", "delete", "patch"] {
                if item.get(method).is_some() {
                    routes.push((
                        Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                        path.clone(),
                    ));
                }
            }
        }
        assert!(
            !routes.is_empty(),
            "{name}: no routes in its OpenAPI document"
        );
        Api {
            name,
            router,
            routes,
            headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
            token: None,
        }
    }

    /// Sends a well-formed request and returns the answer's JSON (used to log in once).
    pub fn call_json(
        &self,
        method: Method,
        path: &str,
        body: serde_json::Value,
    ) -> serde_json::Value {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        for (k, v) in &self.headers {
            req = req.header(*k, v);
        }
        let (status, body) = world().send(
            &self.router,
            req.body(Body::from(body.to_string())).unwrap(),
        );
        assert!(
            status.is_success(),
            "{}: {path} answered {status}: {body:?}",
            self.name
        );
        serde_json::from_slice(&body).unwrap()
    }

    /// The fuzz input: byte 0 picks the route, byte 1 the shape (content type, which token),
    /// then a first line used for every path parameter and as the token, then the body.
    pub fn fuzz(&self, data: &[u8]) {
        let [route, flags, rest @ ..] = data else {
            return;
        };
        let (method, template) = &self.routes[*route as usize % self.routes.len()];
        let (line, body) = match rest.iter().position(|b| *b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let text = String::from_utf8_lossy(line);
        let param = utf8_percent_encode(&text, NON_ALPHANUMERIC).to_string();
        let path = fill_params(template, &param, flags & 0x10 != 0);
        let mut req = Request::builder().method(method.clone()).uri(&path);
        match flags & 3 {
            0 => req = req.header("content-type", "application/json"),
            1 => req = req.header("content-type", "application/x-www-form-urlencoded"),
            2 => {}
            _ => req = req.header("content-type", "text/plain; charset=utf-8"),
        }
        if flags & 0x20 == 0 {
            for (k, v) in &self.headers {
                req = req.header(*k, v);
            }
        }
        let token = match (flags >> 2) & 3 {
            0 => None,
            1 => self.token.clone(),
            _ => Some(text.to_string()),
        };
        if let Some(token) = token {
            for (name, value) in [
                ("authorization", format!("Bearer {token}")),
                ("auth-token", token.clone()),
                ("auth-key", token.clone()),
            ] {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    req = req.header(HeaderName::from_static(name), v);
                }
            }
        }
        let Ok(req) = req.body(Body::from(body.to_vec())) else {
            return;
        };
        let (status, answer) = world().send(&self.router, req);
        assert!(
            !status.is_server_error(),
            "{} {method} {path} answered {status}: {}",
            self.name,
            String::from_utf8_lossy(&answer)
        );
    }
}

/// Replaces each `{name}` of an OpenAPI path template: with the fuzz text, or (when `real`)
/// with values that exist in the fuzz tenant, to reach the code behind the lookups.
fn fill_params(template: &str, fuzzed: &str, real: bool) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + end];
        let value = match (real, name) {
            (true, "storeCode") => "DEFAULT",
            (true, _) => "1",
            (false, _) => fuzzed,
        };
        out.push_str(value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

pub fn native() -> Api {
    let settings = portcullis_api::ApiSettings {
        body_limit: 64 * 1024,
        forward_auth: Default::default(),
    };
    let router = portcullis_api::router(world().core.clone(), &settings);
    let mut api = Api::new("native", router, &portcullis_api::openapi_json(), &[]);
    let basic = format!("{CLIENT_ID}:{API_KEY}");
    let (status, body) = world().send(
        &api.router,
        Request::post("/oauth2/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", format!("Basic {}", b64(basic.as_bytes())))
            .body(Body::from(format!(
                "grant_type=password&kind=operator&username=oscar%40fuzz.example&password={}",
                utf8_percent_encode(PASSWORD, NON_ALPHANUMERIC)
            )))
            .unwrap(),
    );
    assert_eq!(status, StatusCode::OK, "{body:?}");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    api.token = Some(json["access_token"].as_str().unwrap().to_owned());
    // Client authentication rides on the fixed headers, so the token endpoint's grants are
    // reached; a flag drops them.
    api.headers
        .push(("authorization", format!("Basic {}", b64(basic.as_bytes()))));
    api
}

pub fn djust() -> Api {
    let router = portcullis_dialect_djust::router(world().core.clone());
    let mut api = Api::new(
        "djust",
        router,
        &portcullis_dialect_djust::openapi_json(),
        &[
            ("dj-client", "ACCOUNT"),
            ("dj-api-key", API_KEY),
            ("dj-store", "DEFAULT"),
        ],
    );
    let json = api.call_json(
        Method::POST,
        "/auth/token",
        serde_json::json!({"username": "alice@fuzz.example", "password": PASSWORD}),
    );
    api.token = json["accessToken"].as_str().map(str::to_owned);
    api
}

pub fn jrni() -> Api {
    let router = portcullis_dialect_jrni::router(world().core.clone());
    let mut api = Api::new(
        "jrni",
        router,
        &portcullis_dialect_jrni::openapi_json(),
        &[("App-Id", CLIENT_ID), ("App-Key", API_KEY)],
    );
    let json = api.call_json(
        Method::POST,
        "/api/v5/login/admin",
        serde_json::json!({"email": "oscar@fuzz.example", "password": PASSWORD}),
    );
    api.token = json["auth_token"].as_str().map(str::to_owned);
    api
}

pub fn openloyalty() -> Api {
    let router = portcullis_dialect_openloyalty::router(world().core.clone(), Default::default());
    let mut api = Api::new(
        "openloyalty",
        router,
        &portcullis_dialect_openloyalty::openapi_json(),
        &[],
    );
    let json = api.call_json(
        Method::POST,
        "/api/admin/login_check",
        serde_json::json!({"username": "oscar@fuzz.example", "password": PASSWORD}),
    );
    api.token = json["token"].as_str().map(str::to_owned);
    api
}

pub fn jfw() -> Api {
    let router = portcullis_dialect_jfw::router(world().core.clone(), Default::default());
    let mut api = Api::new(
        "jfw",
        router,
        &portcullis_dialect_jfw::openapi_json(),
        &[("Brand-URL", BRAND)],
    );
    let json = api.call_json(
        Method::POST,
        "/api/v1/users/auth",
        serde_json::json!({"username": "alice", "password": PASSWORD}),
    );
    api.token = json["data"]["authKey"].as_str().map(str::to_owned);
    api
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
