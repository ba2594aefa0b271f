//! The server's life: its files, restarts, and behaviour under hashing overload.

use crate::support::*;
use serde_json::Value;

async fn a_restart_keeps_keys_and_sessions_using_the_master_key_file() {
    let setup = Setup {
        master_key_env: false,
        ..Setup::default()
    };
    let server = Server::with_setup(ACME, setup).await;
    let key_file = server.dir.path().join("portcullis.key");
    let db_file = server.dir.path().join("portcullis.db");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key_file), 0o600, "the master key file is private");
        if db_file.exists() {
            assert_eq!(
                mode(&db_file),
                0o600,
                "the database holds hashes: private too"
            );
        }
    }
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    let tokens = server.login_alice().await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let server = server.restart().await;
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        key_text,
        "the key is kept"
    );
    assert_eq!(
        server.introspect(&access).await["active"],
        true,
        "the signing key survived"
    );
    let resp = server.refresh(&refresh).await;
    assert_eq!(resp.status(), 200, "the session survived");
    let jwks: Value = server.get_json("/.well-known/jwks.json").await;
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        1,
        "no new key on restart"
    );
}

async fn a_wrong_master_key_is_refused_at_start() {
    let server = Server::with(ACME).await;
    let out = run_with_env(
        &server,
        &[(
            "PORTCULLIS_MASTER_KEY",
            "another-master-key-0123456789abcdef",
        )],
    )
    .await;
    assert!(!out.ok);
    assert!(out.stderr.contains("master key"), "{}", out.stderr);
}

async fn run_with_env(server: &Server, env: &[(&'static str, &str)]) -> CliOutput {
    let setup = Setup {
        master_key_env: false,
        env: env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        ..server.setup.clone()
    };
    run_cli_with(server.dir.path(), &setup, &["export"]).await
}

async fn hashing_overload_answers_503_with_retry_after() {
    let setup = Setup {
        env: vec![
            ("PORTCULLIS_HASHING__MAX_CONCURRENT", "1".into()),
            ("PORTCULLIS_HASHING__QUEUE_TIMEOUT", "1ms".into()),
        ],
        ..Setup::default()
    };
    let server = Server::with_setup(ACME, setup).await;
    let logins = (0..12).map(|_| {
        let request = server
            .http
            .post(server.url("/oauth2/token"))
            .basic_auth("acme-web", Some(API_KEY))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice@example.com"),
                ("password", PASSWORD),
            ]);
        async move { request.send().await.unwrap() }
    });
    let answers = join_all(logins).await;
    let busy: Vec<_> = answers.iter().filter(|r| r.0 == 503).collect();
    let ok = answers.iter().filter(|r| r.0 == 200).count();
    assert!(ok >= 1, "some logins get through");
    assert!(!busy.is_empty(), "the rest are told to come back");
    for (_, retry_after, body) in busy {
        assert!(
            retry_after
                .as_deref()
                .is_some_and(|v| v.parse::<u64>().is_ok())
        );
        assert_eq!(body["error"], "temporarily_unavailable");
        assert_eq!(body["code"], "busy");
    }
}

/// Runs the requests concurrently and keeps status, Retry-After and body of each.
async fn join_all<F>(requests: impl Iterator<Item = F>) -> Vec<(u16, Option<String>, Value)>
where
    F: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let tasks: Vec<_> = requests
        .map(|f| {
            tokio::spawn(async move {
                let resp = f.await;
                let status = resp.status().as_u16();
                let retry = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                let body = resp.json::<Value>().await.unwrap_or(Value::Null);
                (status, retry, body)
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

crate::on_both_stores!(
    a_restart_keeps_keys_and_sessions_using_the_master_key_file,
    a_wrong_master_key_is_refused_at_start,
    hashing_overload_answers_503_with_retry_after,
);
