//! Three real server processes on one PostgreSQL database behave as one server.
//! Skipped, loudly, without `PORTCULLIS_TEST_POSTGRES_URL`.

use crate::proxy::Proxy;
use crate::support::*;
use serde_json::Value;
use std::time::{Duration, Instant};

const ISSUER: &str = "http://auth.portcullis.test";

/// A fresh database, the ACME file imported, and `n` nodes started at the same moment with
/// one issuer (as a load balancer would present them). Each node reaches PostgreSQL through
/// its own proxy, so a test can cut one node off.
async fn cluster(
    n: usize,
    extra_env: &[(&'static str, &str)],
) -> Option<(TestDatabase, Vec<Server>, Vec<Proxy>)> {
    let Some(admin) = postgres_url() else {
        eprintln!("SKIPPED: set PORTCULLIS_TEST_POSTGRES_URL to run the multi-node tests");
        return None;
    };
    let db = TestDatabase::create();
    let target = pg_socket_addr(&admin);
    let mut proxies = Vec::new();
    let mut starts = Vec::new();
    for _ in 0..n {
        let proxy = Proxy::start(target).await;
        let url = db
            .url
            .replacen(&target.to_string(), &proxy.addr.to_string(), 1);
        assert_ne!(url, db.url, "the node must go through its proxy");
        let mut env: Vec<(&'static str, String)> = vec![("PORTCULLIS_ISSUER", ISSUER.to_owned())];
        env.extend(extra_env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let setup = Setup {
            database_url: Some(url),
            env,
            ..Setup::default()
        };
        starts.push(Server::start_in(tempfile::tempdir().unwrap(), setup));
        proxies.push(proxy);
    }
    // All nodes start on the empty database at once: migrations must run exactly once.
    let nodes = futures_join(starts).await;
    let file = path_of(&nodes[0].dir, "provisioning.toml");
    std::fs::write(&file, ACME).unwrap();
    let out = nodes[0].cli(&["import", file.to_str().unwrap()]).await;
    assert!(out.ok, "{}", out.stderr);
    for node in &nodes {
        eventually("every node to know the tenant", || async {
            node.login("alice@example.com", PASSWORD).await.status() == 200
        })
        .await;
    }
    Some((db, nodes, proxies))
}

async fn futures_join<F>(starts: Vec<F>) -> Vec<Server>
where
    F: std::future::Future<Output = Server> + Send + 'static,
{
    let handles: Vec<_> = starts.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn pg_socket_addr(url: &str) -> std::net::SocketAddr {
    let host_port = url
        .split('@')
        .nth(1)
        .unwrap_or(url.trim_start_matches("postgres://"))
        .split('/')
        .next()
        .unwrap();
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    host_port
        .replace("localhost", "127.0.0.1")
        .parse()
        .expect("PORTCULLIS_TEST_POSTGRES_URL must name host:port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_when_nodes_start_together() {
    let Some((db, nodes, _proxies)) = cluster(3, &[]).await else {
        return;
    };
    let out = std::process::Command::new("psql")
        .args([
            db.url.as_str(),
            "-tAc",
            "SELECT count(*) FROM _sqlx_migrations",
        ])
        .output()
        .unwrap();
    let applied: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(
        applied,
        std::fs::read_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../store-postgres/migrations"
        ))
        .unwrap()
        .count()
    );
    for node in &nodes {
        assert_eq!(
            node.http
                .get(node.url("/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_one_node_works_on_the_others_and_revocation_reaches_all_within_a_second() {
    let Some((_db, nodes, _proxies)) = cluster(3, &[]).await else {
        return;
    };
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let tokens = a.login_alice().await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(b.introspect(&access).await["active"], true);
    assert_eq!(c.introspect(&access).await["active"], true);

    // Refreshed on B, the new pair works on C.
    let refreshed: Value = b
        .refresh(tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let access2 = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(c.introspect(&access2).await["active"], true);

    // Revoked on C: refused on A and B within a second.
    let resp = c
        .post_form(
            "/oauth2/revoke",
            &[("token", refreshed["refresh_token"].as_str().unwrap())],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let revoked_at = Instant::now();
    assert_eq!(
        c.introspect(&access2).await["active"],
        false,
        "at once on the revoking node"
    );
    for node in [a, b] {
        loop {
            if node.introspect(&access2).await["active"] == false {
                break;
            }
            assert!(
                revoked_at.elapsed() < Duration::from_secs(1),
                "revocation took over a second to reach {}",
                node.base
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_on_all_nodes_mint_exactly_one_pair() {
    let Some((_db, nodes, _proxies)) = cluster(3, &[]).await else {
        return;
    };
    let tokens = nodes[0].login_alice().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for i in 0..30 {
        let node = &nodes[i % 3];
        let request = node
            .http
            .post(node.url("/oauth2/token"))
            .basic_auth("acme-web", Some(API_KEY))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.as_str()),
            ]);
        tasks.push(tokio::spawn(async move {
            let resp = request.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }));
    }
    let mut pairs = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 200, "{body}");
        pairs.insert((
            body["access_token"].to_string(),
            body["refresh_token"].to_string(),
        ));
    }
    assert_eq!(
        pairs.len(),
        1,
        "every racer got the one pair that was minted"
    );
    // After the retry window, the same token is reuse: the family ends, on every node.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let reuse = nodes[2].refresh(&refresh).await;
    expect_error(reuse, 400, "invalid_grant", "refresh_token_reused").await;
    let (_, winner) = pairs.into_iter().next().unwrap();
    let winner: String = serde_json::from_str(&winner).unwrap();
    for node in &nodes {
        assert_eq!(node.refresh(&winner).await.status(), 400);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_on_one_node_is_published_and_used_by_all() {
    let Some((_db, nodes, _proxies)) = cluster(3, &[]).await else {
        return;
    };
    let before = nodes[1].login_alice().await;
    let out = nodes[0].cli(&["key", "rotate", "--tenant", "acme"]).await;
    assert!(out.ok, "{}", out.stderr);
    let new_kid = out.stdout.split_whitespace().nth(3).unwrap().to_owned();
    for node in &nodes {
        eventually("every node to publish the new key", || async {
            let jwks: Value = node.get_json("/.well-known/jwks.json").await;
            jwks["keys"].as_array().unwrap().len() == 2
        })
        .await;
        let tokens = node.login_alice().await;
        let kid = jsonwebtoken::decode_header(tokens["access_token"].as_str().unwrap())
            .unwrap()
            .kid
            .unwrap();
        assert_eq!(kid, new_kid, "{} signs with the new key", node.base);
        // Tokens signed with the old key still verify everywhere.
        assert_eq!(
            node.introspect(before["access_token"].as_str().unwrap())
                .await["active"],
            true
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_its_database_says_so_keeps_validating_and_recovers() {
    let Some((_db, nodes, proxies)) =
        cluster(2, &[("PORTCULLIS_DATABASE__ACQUIRE_TIMEOUT", "1s")]).await
    else {
        return;
    };
    let node = &nodes[0];
    let tokens = node.login_alice().await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();

    proxies[0].cut();
    eventually("/readyz to report the lost database", || async {
        node.http
            .get(node.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 503
    })
    .await;
    // What needs the database is refused with a clear error...
    let resp = node.login("alice@example.com", PASSWORD).await;
    expect_error(resp, 503, "temporarily_unavailable", "unavailable").await;
    // ...while access tokens are still validated from memory, without a query.
    assert_eq!(node.introspect(&access).await["active"], true);
    // The other node is unaffected.
    assert_eq!(
        nodes[1].login("alice@example.com", PASSWORD).await.status(),
        200
    );

    proxies[0].restore();
    eventually("the node to recover by itself", || async {
        node.http
            .get(node.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    assert_eq!(
        node.login("alice@example.com", PASSWORD).await.status(),
        200
    );
}

/// A database dropped under a running node (or one it may no longer log in to) is the
/// database's state, not a bug: `/readyz` answers 503, never 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_database_is_unavailable_not_an_internal_error() {
    if postgres_url().is_none() {
        eprintln!("SKIPPED: set PORTCULLIS_TEST_POSTGRES_URL to run the dropped-database test");
        return;
    }
    let db = TestDatabase::create();
    let setup = Setup {
        database_url: Some(db.url.clone()),
        env: vec![("PORTCULLIS_DATABASE__ACQUIRE_TIMEOUT", "1s".to_owned())],
        ..Setup::default()
    };
    let node = Server::start_in(tempfile::tempdir().unwrap(), setup).await;
    let ready = || async {
        node.http
            .get(node.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(ready().await, 200);
    db.drop_now();
    for _ in 0..5 {
        assert_eq!(ready().await, 503, "{}", node.logs());
    }
}

/// The TLS mode is a setting: `require` connects (this server has TLS on), `verify-full`
/// refuses a server whose certificate it cannot verify, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tls_mode_is_honoured() {
    if postgres_url().is_none() {
        eprintln!("SKIPPED: set PORTCULLIS_TEST_POSTGRES_URL to run the PostgreSQL TLS test");
        return;
    }
    let db = TestDatabase::create();
    let setup = |mode: &str| Setup {
        database_url: Some(db.url.clone()),
        env: vec![("PORTCULLIS_DATABASE__TLS_MODE", mode.to_owned())],
        ..Setup::default()
    };
    let node = Server::start_in(tempfile::tempdir().unwrap(), setup("require")).await;
    assert_eq!(
        node.http
            .get(node.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let dir = tempfile::tempdir().unwrap();
    let out = run_cli_with(dir.path(), &setup("verify-full"), &["export"]).await;
    assert!(!out.ok, "an unverifiable certificate is refused");
    assert!(
        out.stderr.to_lowercase().contains("postgresql"),
        "{}",
        out.stderr
    );
}
