//! Decisions for resource servers: `/v1/authorize` and `/v1/forward-auth`, with the
//! credentials of every API, default profiles per kind, and a real nginx in front of a small
//! upstream using `auth_request`.

use crate::support::*;
use reqwest::Response;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// ACME with rights: Alice (buyer) reads orders and writes her cart; every customer reads
/// the catalog by default; nobody may touch `/v1/orders/export`.
fn provisioning() -> String {
    ACME.replace(
        r#"[[tenants.profiles]]
name = "buyer"
rules = [{ route = "/v1/orders/**", right = "read" }]"#,
        r#"[tenants.default_profiles]
customer = ["shopper"]

[[tenants.profiles]]
name = "buyer"
rules = [
  { route = "/v1/orders/**", right = "read" },
  { route = "/v1/orders/export", right = "none" },
  { route = "/v1/cart/**", right = "read-write" },
  { route = "/v1/reviews", right = "read-write", methods = ["POST"] },
]

[[tenants.profiles]]
name = "shopper"
rules = [{ route = "/v1/catalog/**", right = "read" }]"#,
    )
}

async fn decide(server: &Server, token: &str, method: &str, path: &str) -> Value {
    let resp = server
        .http
        .post(server.url("/v1/authorize"))
        .json(&json!({"token": token, "method": method, "path": path}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

async fn forward(server: &Server, headers: &[(&str, &str)]) -> Response {
    let mut req = server.http.get(server.url("/v1/forward-auth"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.unwrap()
}

async fn decisions_follow_the_profiles_for_every_credential() {
    let server = Server::with(&provisioning()).await;
    let jwt = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // The token carries the user's and the kind's profiles; introspection shows them.
    let claims = server.introspect(&jwt).await;
    assert_eq!(claims["profiles"], json!(["buyer", "shopper"]));
    // So does introspection of the opaque tokens of JRNI and JFW.
    let jrni = server.jrni_token().await;
    let jfw = server.jfw_sign_in().await["authKey"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [&jrni, &jfw] {
        let found = server.introspect(token).await;
        assert_eq!(found["active"], true, "{found}");
        assert_eq!(found["token_type"], "access_token");
        assert_eq!(found["sub"], claims["sub"]);
        assert_eq!(found["tenant"], "acme");
        assert_eq!(found["kind"], "customer");
        assert_eq!(found["profiles"], json!(["buyer", "shopper"]));
        assert!(found["exp"].as_i64().unwrap() > claims["exp"].as_i64().unwrap());
    }
    for token in [
        jwt.clone(),
        server.jrni_token().await,
        server.jfw_sign_in().await["authKey"]
            .as_str()
            .unwrap()
            .to_owned(),
    ] {
        let cases = [
            ("GET", "/v1/orders/42", true),
            ("HEAD", "/v1/orders", true),
            ("POST", "/v1/orders/42", false),
            ("GET", "/v1/orders/export", false),
            ("DELETE", "/v1/cart/items/1", true),
            ("POST", "/v1/reviews", true),
            ("PUT", "/v1/reviews", false),
            ("GET", "/v1/catalog/shoes?page=2", true),
            ("GET", "/v1/admin", false),
        ];
        for (method, path, allowed) in cases {
            let d = decide(&server, &token, method, path).await;
            assert_eq!(d["allowed"], allowed, "{method} {path}: {d}");
            assert_eq!(d["active"], true);
            assert_eq!(d["tenant"], "acme");
            assert_eq!(d["kind"], "customer");
            assert_eq!(d["profiles"], json!(["buyer", "shopper"]));
        }
    }
    let d = decide(&server, &jwt, "POST", "/v1/orders/42").await;
    assert_eq!(d["right"], "read");
    assert_eq!(d["profile"], "buyer");
    assert_eq!(d["rule"], "/v1/orders/**");
    assert_eq!(
        d["reason"],
        "buyer grants only read on /v1/orders/**, not POST"
    );
    let d = decide(&server, &jwt, "GET", "/v1/admin").await;
    assert_eq!(d["right"], "none");
    assert!(d["reason"].as_str().unwrap().contains("no rule"), "{d}");

    // An operator without profiles: denied everywhere.
    let oscar = server.operator_token("oscar@example.com").await;
    let d = decide(&server, &oscar, "GET", "/v1/catalog/x").await;
    assert_eq!(d["allowed"], false);
    assert_eq!(d["profiles"], json!([]));

    // Invalid tokens are inactive, not errors; malformed requests are 400.
    let d = decide(&server, "not-a-token", "GET", "/v1/orders").await;
    assert_eq!(d["active"], false);
    assert_eq!(d["allowed"], false);
    for body in [
        json!({"token": jwt, "method": "get it", "path": "/v1/orders"}),
        json!({"token": jwt, "method": "GET", "path": "v1/orders"}),
        json!({"token": jwt, "method": "GET"}),
    ] {
        let resp = server
            .http
            .post(server.url("/v1/authorize"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
    }
}

async fn forward_auth_answers_the_proxy() {
    let server = Server::with(&provisioning()).await;
    let jwt = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {jwt}");
    let ok = forward(
        &server,
        &[
            ("Authorization", &bearer),
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/v1/orders/7?x=1"),
        ],
    )
    .await;
    assert_eq!(ok.status(), 200);
    let h = ok.headers();
    assert_eq!(h["x-auth-tenant"], "acme");
    assert_eq!(h["x-auth-kind"], "customer");
    assert_eq!(h["x-auth-profiles"], "buyer,shopper");
    assert_eq!(h["x-auth-user"].to_str().unwrap().len(), 36);

    // nginx's headers only, by default: a client's X-Forwarded-* cannot steer the decision.
    let resp = forward(
        &server,
        &[
            ("Authorization", &bearer),
            ("X-Original-Method", "POST"),
            ("X-Original-URI", "/v1/orders/7"),
            ("X-Forwarded-Method", "GET"),
            ("X-Forwarded-Uri", "/v1/catalog/shoes"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["x-auth-reason"],
        "buyer grants only read on /v1/orders/**, not POST"
    );
    // Encoded dot segments and slashes are refused, whatever the rules.
    for uri in [
        "/v1/cart/%2e%2e/admin",
        "/v1/cart/..%2Fadmin",
        "/v1/cart/%2E%2E",
    ] {
        let resp = forward(
            &server,
            &[
                ("Authorization", &bearer),
                ("X-Original-Method", "GET"),
                ("X-Original-URI", uri),
            ],
        )
        .await;
        assert_eq!(resp.status(), 403, "{uri}");
    }
    // The other credentials: JRNI's header, JFW's header, the cookie.
    let jrni = server.jrni_token().await;
    let jfw = server.jfw_sign_in().await["authKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let cookie = format!("theme=dark; portcullis_token={jwt}");
    for (name, value) in [
        ("Auth-Token", jrni.as_str()),
        ("Auth-Key", jfw.as_str()),
        ("Cookie", cookie.as_str()),
    ] {
        let resp = forward(
            &server,
            &[
                (name, value),
                ("X-Original-Method", "GET"),
                ("X-Original-URI", "/v1/cart"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 200, "{name}");
        assert_eq!(resp.headers()["x-auth-profiles"], "buyer,shopper");
    }
    // 401 without a valid token; 403 when the proxy does not say what it forwards.
    let resp = forward(&server, &[("X-Original-URI", "/v1/orders")]).await;
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    let resp = forward(
        &server,
        &[
            ("Authorization", "Bearer a.b.c"),
            ("X-Original-URI", "/v1/orders"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 401);
    let resp = forward(&server, &[("Authorization", &bearer)]).await;
    assert_eq!(resp.status(), 403);
    let resp = forward(
        &server,
        &[("Authorization", &bearer), ("X-Original-URI", "/v1/orders")],
    )
    .await;
    assert_eq!(resp.status(), 403, "no method, no guess");
    assert_eq!(
        resp.headers()["x-auth-reason"],
        "the proxy sent no X-Original-Method"
    );
    let resp = forward(
        &server,
        &[
            ("Authorization", &bearer),
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/v1/orders/../admin"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);

    // Logged out: refused on the next request.
    let resp = server
        .http
        .post(server.url("/v1/logout"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = forward(
        &server,
        &[("Authorization", &bearer), ("X-Original-URI", "/v1/orders")],
    )
    .await;
    assert_eq!(resp.status(), 401);
}

async fn traefik_and_caddy_send_x_forwarded_headers() {
    let setup = Setup {
        env: vec![("PORTCULLIS_HTTP__FORWARD_AUTH_HEADERS", "forwarded".into())],
        ..Default::default()
    };
    let server = Server::with_setup(&provisioning(), setup).await;
    let jwt = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {jwt}");
    let resp = forward(
        &server,
        &[
            ("Authorization", &bearer),
            ("X-Forwarded-Method", "GET"),
            ("X-Forwarded-Uri", "/v1/orders/7"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 200);
    // Now the X-Original-* headers are the client's, and ignored.
    let resp = forward(
        &server,
        &[
            ("Authorization", &bearer),
            ("X-Forwarded-Method", "POST"),
            ("X-Forwarded-Uri", "/v1/orders/7"),
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/v1/orders/7"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    let resp = forward(
        &server,
        &[
            ("Authorization", &bearer),
            ("X-Original-URI", "/v1/orders/7"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["x-auth-reason"],
        "the proxy sent no X-Forwarded-Uri"
    );
}

async fn disabled_apps_and_users_lose_every_token() {
    let server = Server::with(&provisioning()).await;
    let jrni = server.jrni_token().await;
    let jfw = server.jfw_sign_in().await["authKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwt = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for t in [&jrni, &jfw, &jwt] {
        assert_eq!(
            decide(&server, t, "GET", "/v1/orders/1").await["allowed"],
            true
        );
    }
    // The file disables Alice: she is signed out everywhere, whatever the credential.
    let file = server.dir.path().join("disable.toml");
    std::fs::write(
        &file,
        provisioning().replace(
            "username = \"alice\"",
            "username = \"alice\"\nstatus = \"disabled\"",
        ),
    )
    .unwrap();
    let out = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(out.ok, "{}", out.stderr);
    for t in [&jrni, &jfw, &jwt] {
        eventually("the disabled user's token refused", || async {
            decide(&server, t, "GET", "/v1/orders/1").await["active"] == false
        })
        .await;
    }
}

async fn opaque_tokens_end_with_their_app() {
    let server = Server::with(&provisioning()).await;
    let jrni = server.jrni_token().await;
    let jfw = server.jfw_sign_in().await["authKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let file = server.dir.path().join("app-off.toml");
    std::fs::write(
        &file,
        provisioning().replace(
            "client_id = \"acme-web\"",
            "client_id = \"acme-web\"\nenabled = false",
        ),
    )
    .unwrap();
    let out = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(out.ok, "{}", out.stderr);
    for t in [&jrni, &jfw] {
        eventually("the disabled app's token refused", || async {
            forward(
                &server,
                &[
                    ("Auth-Token", t.as_str()),
                    ("X-Original-Method", "GET"),
                    ("X-Original-URI", "/v1/orders/1"),
                ],
            )
            .await
            .status()
                == 401
        })
        .await;
    }
}

async fn default_profiles_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.toml");
    let bad = provisioning().replace(r#"customer = ["shopper"]"#, r#"customer = ["ghost"]"#);
    std::fs::write(&file, bad).unwrap();
    let out = cli_in(dir.path(), &["import", file.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("tenants[0].default_profiles.customer") && out.stderr.contains("ghost"),
        "{}",
        out.stderr
    );
}

/// A tiny upstream that answers with the identity headers nginx passed it.
async fn upstream() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        axum::Json(json!({
            "user": get("x-auth-user"), "tenant": get("x-auth-tenant"),
            "kind": get("x-auth-kind"), "profiles": get("x-auth-profiles"),
        }))
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr.to_string()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The nginx configuration of docs/forward-auth.md, with this test's addresses.
fn nginx_conf(dir: &Path, listen: u16, portcullis: &str, upstream: &str) -> String {
    let d = dir.display();
    format!(
        r#"worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{listen};
    location / {{
      auth_request /_portcullis;
      auth_request_set $auth_user $upstream_http_x_auth_user;
      auth_request_set $auth_tenant $upstream_http_x_auth_tenant;
      auth_request_set $auth_kind $upstream_http_x_auth_kind;
      auth_request_set $auth_profiles $upstream_http_x_auth_profiles;
      proxy_set_header X-Auth-User $auth_user;
      proxy_set_header X-Auth-Tenant $auth_tenant;
      proxy_set_header X-Auth-Kind $auth_kind;
      proxy_set_header X-Auth-Profiles $auth_profiles;
      proxy_pass http://{upstream};
    }}
    location = /_portcullis {{
      internal;
      proxy_pass http://{portcullis}/v1/forward-auth;
      proxy_method GET;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Original-URI $request_uri;
    }}
  }}
}}
"#
    )
}

async fn nginx_auth_request_guards_an_upstream() {
    let server = Server::with(&provisioning()).await;
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    // nginx's workers run as another user when the tests run as root.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let port = free_port();
    let portcullis = server.base.trim_start_matches("http://").to_owned();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir.path(), port, &portcullis, &upstream)).unwrap();
    let mut nginx = tokio::process::Command::new("nginx")
        .args([
            "-p",
            dir.path().to_str().unwrap(),
            "-c",
            conf.to_str().unwrap(),
        ])
        // One process, so killing it (here or when a failed test drops it) leaves no workers.
        .args(["-g", "daemon off; master_process off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("nginx is installed (Debian package nginx; .ci/run installs it)");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    eventually("nginx listening", || async {
        http.get(format!("{base}/")).send().await.is_ok()
    })
    .await;

    let jwt = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // A read-only profile: GET through with the identity, POST stopped at the proxy.
    let resp = http
        .get(format!("{base}/v1/orders/42"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen: Value = resp.json().await.unwrap();
    assert_eq!(seen["tenant"], "acme");
    assert_eq!(seen["kind"], "customer");
    assert_eq!(seen["profiles"], "buyer,shopper");
    assert_eq!(seen["user"].as_str().unwrap().len(), 36);
    let resp = http
        .post(format!("{base}/v1/orders/42"))
        .bearer_auth(&jwt)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // No token: 401.
    let resp = http
        .get(format!("{base}/v1/orders/42"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // Revoked: refused on the next request.
    let resp = server
        .http
        .post(server.url("/v1/logout"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = http
        .get(format!("{base}/v1/orders/42"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    nginx.start_kill().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), nginx.wait()).await;
}

/// ACME with administrators: Oscar may change everything under `/v1/admin`, Olga only read.
fn with_admins() -> String {
    let base = provisioning();
    let base = base.replace(
        "[[tenants.profiles]]\nname = \"shopper\"",
        r#"[[tenants.profiles]]
name = "admin"
rules = [{ route = "/v1/admin/**", right = "read-write" }]

[[tenants.profiles]]
name = "auditor"
rules = [{ route = "/v1/admin/**", right = "read" }]

[[tenants.profiles]]
name = "shopper""#,
    );
    format!(
        "{}\nprofiles = [\"admin\"]\n\n[[tenants.users]]\nkind = \"operator\"\nemail = \"olga@example.com\"\npassword = \"{PASSWORD}\"\nprofiles = [\"auditor\"]\n",
        base.trim_end()
    )
}

async fn the_admin_api_is_guarded_by_profiles() {
    let server = Server::with(&with_admins()).await;
    let oscar = server.operator_token("oscar@example.com").await;
    let olga = server.operator_token("olga@example.com").await;
    let alice_login = server.login_alice().await;
    let alice = alice_login["access_token"].as_str().unwrap().to_owned();
    let alice_id = server.introspect(&alice).await["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = |token: Option<String>, path: &str| {
        let mut req = server.http.get(server.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let put = |token: &str, path: &str, body: Value| {
        server
            .http
            .put(server.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    // Who may: no token 401; a customer 403, even one with rights elsewhere; operators with
    // the admin route in their profiles.
    assert_eq!(get(None, "/v1/admin/profiles").await.unwrap().status(), 401);
    assert_eq!(
        get(Some(alice.clone()), "/v1/admin/profiles")
            .await
            .unwrap()
            .status(),
        403
    );
    let resp = get(Some(olga.clone()), "/v1/admin/profiles").await.unwrap();
    assert_eq!(resp.status(), 200);
    let list: Value = resp.json().await.unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "auditor", "buyer", "shopper"]);
    let rule = json!({"rules": [{"route": "/v1/reviews/**", "right": "read-write"},
                                {"route": "/v1/reviews/{id}", "right": "none", "methods": ["DELETE"]}]});
    let resp = put(&olga, "/v1/admin/profiles/reviewer", rule.clone())
        .await
        .unwrap();
    assert_eq!(resp.status(), 403, "read-only auditor");
    let resp = put(&oscar, "/v1/admin/profiles/reviewer", rule)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let saved: Value = resp.json().await.unwrap();
    assert_eq!(saved["rules"][1]["methods"], json!(["DELETE"]));

    // Bad rules are refused whole, naming the rule; nothing changes.
    for (body, field) in [
        (
            json!({"rules": [{"route": "/ok", "right": "read"}, {"route": "no-slash", "right": "read"}]}),
            "rules[1].route",
        ),
        (
            json!({"rules": [{"route": "/ok", "right": "write"}]}),
            "rules[0].right",
        ),
        (
            json!({"rules": [{"route": "/ok", "right": "read", "methods": ["get"]}]}),
            "rules[0].methods",
        ),
    ] {
        let resp = put(&oscar, "/v1/admin/profiles/broken", body)
            .await
            .unwrap();
        assert_eq!(resp.status(), 400);
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["errors"][0]["field"], field, "{err}");
    }
    let list: Value = get(Some(oscar.clone()), "/v1/admin/profiles")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        5,
        "reviewer added, broken not"
    );

    // Give Alice the reviewer profile: decisions change at once, for her opaque tokens too.
    let jrni = server.jrni_token().await;
    assert_eq!(
        decide(&server, &jrni, "POST", "/v1/reviews/9").await["allowed"],
        false
    );
    let path = format!("/v1/admin/users/{alice_id}/profiles");
    let resp = put(&oscar, &path, json!({"profiles": ["reviewer", "ghost"]}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "unknown profile");
    let resp = put(&oscar, &path, json!({"profiles": ["reviewer"]}))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let now: Value = resp.json().await.unwrap();
    assert_eq!(
        now["profiles"],
        json!(["reviewer", "shopper"]),
        "own and the kind's default"
    );
    assert_eq!(
        decide(&server, &jrni, "POST", "/v1/reviews/9").await["allowed"],
        true
    );
    assert_eq!(
        decide(&server, &jrni, "DELETE", "/v1/reviews/9").await["allowed"],
        false
    );
    assert_eq!(
        decide(&server, &jrni, "GET", "/v1/orders/1").await["allowed"],
        false,
        "buyer gone"
    );
    let resp = get(Some(olga.clone()), &path).await.unwrap();
    assert_eq!(
        resp.json::<Value>().await.unwrap()["profiles"],
        json!(["reviewer", "shopper"])
    );
    let resp = get(
        Some(oscar.clone()),
        "/v1/admin/users/0190a0a0-0000-7000-8000-000000000000/profiles",
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 404);

    // The command line does the same.
    let out = server
        .cli(&[
            "profile",
            "set",
            "--tenant",
            "acme",
            "--name",
            "packer",
            "--rule",
            "/v1/parcels/**=read",
            "--rule",
            "POST,PUT /v1/parcels/{id}/label=read-write",
        ])
        .await;
    assert!(out.ok, "{}", out.stderr);
    let out = server.cli(&["profile", "list", "--tenant", "acme"]).await;
    assert!(
        out.stdout.contains(
            "packer\n  /v1/parcels/**=read\n  POST,PUT /v1/parcels/{id}/label=read-write"
        ),
        "{}",
        out.stdout
    );
    let out = server
        .cli(&[
            "user",
            "profiles",
            "--tenant",
            "acme",
            "--login",
            "alice",
            "--set",
            "buyer,packer",
        ])
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout.trim(), "buyer,packer,shopper");
    let out = server
        .cli(&[
            "profile", "set", "--tenant", "acme", "--name", "bad", "--rule", "/x=maybe",
        ])
        .await;
    assert!(!out.ok);
    assert!(out.stderr.contains("maybe"), "{}", out.stderr);
    // The CLI wrote to the store; the server sees it through the change feed.
    eventually("the server applies the CLI's change", || async {
        decide(&server, &jrni, "PUT", "/v1/parcels/3/label").await["allowed"] == true
    })
    .await;
}

/// The admin API's audit query: the caller's tenant only, filtered by user, kind, action and
/// time; a bad filter is a 400 naming it.
async fn the_admin_api_reads_the_audit_trail() {
    let server = Server::with(&with_admins()).await;
    let olga = server.operator_token("olga@example.com").await;
    let alice = server.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice_id = server.introspect(&alice).await["sub"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = server.login("alice@example.com", "Wr0ng-Passw0rd!").await;
    assert_eq!(wrong.status(), 400);
    let query = |q: &str| {
        server
            .http
            .get(server.url(&format!("/v1/admin/audit{q}")))
            .bearer_auth(&olga)
            .send()
    };
    let events = |q: String| async move {
        let resp = query(&q).await.unwrap();
        assert_eq!(resp.status(), 200, "{q}");
        resp.json::<Vec<Value>>().await.unwrap()
    };

    let failed = events("?action=login.failed".into()).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["detail"], "wrong password");
    assert_eq!(failed[0]["user"], alice_id.as_str());
    assert_eq!(failed[0]["ip"], "127.0.0.1");
    assert_eq!(failed[0]["client_id"], "acme-web");
    let logins = events("?action=login".into()).await;
    assert_eq!(
        logins.len(),
        3,
        "olga's, alice's and alice's failure: {logins:?}"
    );
    assert!(
        logins
            .iter()
            .all(|e| e["action"].as_str().unwrap().starts_with("login."))
    );
    let operators = events("?kind=operator&action=login.succeeded".into()).await;
    assert_eq!(operators.len(), 1, "olga's login: {operators:?}");
    assert_ne!(operators[0]["user"], alice_id.as_str());
    let everyone = events("".into()).await;
    let path = format!("?user={alice_id}");
    let hers = events(path).await;
    assert!(hers.len() >= 2, "{hers:?}");
    assert!(
        hers.iter().all(|e| e["user"] == alice_id.as_str()),
        "{hers:?}"
    );
    assert!(everyone.len() > hers.len(), "olga's login is not hers");
    let path = format!("?user={alice_id}&limit=1");
    let one = events(path).await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["action"], "login.failed", "newest first");

    // Paging: each page starts after the last event of the one before, by its id.
    let mut paged: Vec<Value> = Vec::new();
    let mut next = "?limit=2".to_owned();
    loop {
        let page = events(next.clone()).await;
        let Some(last) = page.last() else { break };
        next = format!("?limit=2&before={}", last["id"].as_str().unwrap());
        paged.extend(page);
    }
    assert_eq!(paged, everyone, "the pages make up the whole trail");
    assert!(
        events("?before=0190a0a0-0000-7000-8000-000000000000".into())
            .await
            .is_empty(),
        "no such event: nothing after it"
    );

    assert!(
        events("?since=2999-01-01T00:00:00Z".into())
            .await
            .is_empty()
    );
    assert!(
        events("?until=2000-01-01T00:00:00Z".into())
            .await
            .is_empty()
    );
    let json = serde_json::to_string(&everyone).unwrap();
    assert!(
        !json.contains(PASSWORD) && !json.contains("Wr0ng"),
        "no secrets"
    );

    for (q, status, code) in [
        ("?limit=0", 400, "invalid_limit"),
        ("?limit=5000", 400, "invalid_limit"),
        ("?since=yesterday", 400, "invalid_time"),
        ("?kind=robot", 400, "invalid_kind"),
        ("?before=yesterday", 400, "invalid_event_id"),
        ("?colour=blue", 400, "malformed_query"),
        (
            "?user=0190a0a0-0000-7000-8000-000000000000",
            404,
            "not_found",
        ),
    ] {
        let resp = query(q).await.unwrap();
        assert_eq!(resp.status(), status, "{q}");
        let body: Value = resp.json().await.unwrap();
        assert!(body.to_string().contains(code), "{q}: {body}");
    }
    // A customer may not read it; nor may anyone without a token.
    let resp = server
        .http
        .get(server.url("/v1/admin/audit"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = server
        .http
        .get(server.url("/v1/admin/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

crate::on_both_stores!(
    the_admin_api_reads_the_audit_trail,
    the_admin_api_is_guarded_by_profiles,
    decisions_follow_the_profiles_for_every_credential,
    forward_auth_answers_the_proxy,
    traefik_and_caddy_send_x_forwarded_headers,
    disabled_apps_and_users_lose_every_token,
    opaque_tokens_end_with_their_app,
    default_profiles_must_exist,
    nginx_auth_request_guards_an_upstream,
);
