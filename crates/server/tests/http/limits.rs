//! Login limits: attempts per account are counted before the password is checked, so ten
//! concurrent guesses cannot get past a limit of three; the account opens again when its
//! window ends or when an operator unlocks it.

use crate::support::*;
use serde_json::Value;

async fn concurrent_guesses_stop_at_the_limit() {
    let file = format!(
        "{ACME}\n[tenants.limits]\nper_account = 3\nper_account_ip = 100\nwindow = \"10m\"\n"
    );
    let server = Server::with(&file).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let req = server
            .http
            .post(server.url("/oauth2/token"))
            .basic_auth("acme-web", Some(API_KEY))
            .form(&[
                ("grant_type", "password"),
                ("username", "alice@example.com"),
                ("password", &format!("Wr0ng-Guess-{i}!")),
            ]);
        tasks.push(tokio::spawn(async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let retry = resp.headers().get("retry-after").is_some();
            (status, retry, resp.json::<Value>().await.unwrap())
        }));
    }
    let (mut checked, mut limited) = (0, 0);
    for t in tasks {
        let (status, retry, body) = t.await.unwrap();
        match status {
            400 => {
                assert_eq!(body["code"], "invalid_credentials");
                checked += 1;
            }
            429 => {
                assert!(retry, "Retry-After on 429");
                assert_eq!(body["code"], "rate_limited");
                limited += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(
        checked, 3,
        "no more than the limit reached the password check"
    );
    assert_eq!(limited, 7);
    // Even the right password waits for the window now; another account is not affected.
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        429
    );
    let oscar = server
        .post_form(
            "/oauth2/token",
            &[
                ("grant_type", "password"),
                ("username", "oscar@example.com"),
                ("password", PASSWORD),
                ("kind", "operator"),
            ],
        )
        .await;
    assert_eq!(oscar.status(), 200);
    // An unknown account is limited the same way, so the limit tells nothing.
    for _ in 0..3 {
        assert_eq!(
            server
                .login("nobody@example.com", "Wr0ng-Guess-0!")
                .await
                .status(),
            400
        );
    }
    assert_eq!(
        server
            .login("nobody@example.com", "Wr0ng-Guess-0!")
            .await
            .status(),
        429
    );

    // An operator opens the account again.
    let out = server
        .cli(&[
            "user",
            "unlock",
            "--tenant",
            "acme",
            "--login",
            "alice@example.com",
        ])
        .await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200
    );
    // The unlock is in the audit trail; a name nobody has, or a bad address, is an error.
    let out = server.cli(&["audit", "--tenant", "acme", "--json"]).await;
    assert!(out.stdout.contains("login.unlocked"), "{}", out.stdout);
    for (login, extra) in [
        ("nobody@example.com", None),
        ("alice@example.com", Some("not-an-ip")),
    ] {
        let mut args = vec!["user", "unlock", "--tenant", "acme", "--login", login];
        if let Some(ip) = extra {
            args.extend(["--ip", ip]);
        }
        let out = server.cli(&args).await;
        assert!(!out.ok, "{args:?}");
        assert!(
            out.stderr.contains(extra.unwrap_or("not found")),
            "{}",
            out.stderr
        );
    }
}

async fn successes_do_not_lock_an_account() {
    let file = format!("{ACME}\n[tenants.limits]\nper_account = 2\n");
    let server = Server::with(&file).await;
    for _ in 0..5 {
        assert_eq!(
            server.login("alice@example.com", PASSWORD).await.status(),
            200
        );
    }
    assert_eq!(
        server
            .login("alice@example.com", "Wr0ng-Guess-0!")
            .await
            .status(),
        400
    );
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200,
        "a success ends the run"
    );
}

/// A wrong password from `ip` as a proxy would forward it.
async fn guess_via(server: &Server, forwarded_for: &str) -> u16 {
    server
        .http
        .post(server.url("/oauth2/token"))
        .basic_auth("acme-web", Some(API_KEY))
        .header("x-forwarded-for", forwarded_for)
        .form(&[
            ("grant_type", "password"),
            ("username", "alice@example.com"),
            ("password", "Wr0ng-Guess-0!"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The audit trail's events of one action, as `portcullis audit --json` gives them.
async fn audited(server: &Server, action: &str) -> Vec<Value> {
    let out = server.cli(&["audit", "--action", action, "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn failed_ips(server: &Server) -> Vec<String> {
    audited(server, "login.failed")
        .await
        .iter()
        .map(|e| e["ip"].as_str().unwrap().to_owned())
        .collect()
}

/// Behind a trusted proxy, limits and the audit trail see each client's own address (the
/// right-most untrusted `X-Forwarded-For` hop); without one, the header is ignored.
async fn clients_behind_a_trusted_proxy_are_told_apart() {
    let file = format!("{ACME}\n[tenants.limits]\nper_account = 100\nper_account_ip = 2\n");
    let setup = Setup {
        env: vec![(
            "PORTCULLIS_HTTP__TRUSTED_PROXIES",
            r#"["127.0.0.1"]"#.to_owned(),
        )],
        ..Setup::default()
    };
    let server = Server::with_setup(&file, setup).await;
    assert_eq!(guess_via(&server, "203.0.113.7").await, 400);
    assert_eq!(guess_via(&server, "203.0.113.7").await, 400);
    assert_eq!(
        guess_via(&server, "203.0.113.7").await,
        429,
        "this client's limit"
    );
    // A forged left part does not make another client of it.
    assert_eq!(guess_via(&server, "198.51.100.1, 203.0.113.7").await, 429);
    // Another client behind the same proxy is not held back.
    assert_eq!(guess_via(&server, "203.0.113.8").await, 400);
    let ips = failed_ips(&server).await;
    assert!(ips.contains(&"203.0.113.7".to_owned()), "{ips:?}");
    assert!(ips.contains(&"203.0.113.8".to_owned()), "{ips:?}");
    assert!(!ips.contains(&"127.0.0.1".to_owned()), "{ips:?}");
    // The lockout is audited once, from the client's address; the refusals after it are not.
    let limited = audited(&server, "login.limited").await;
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["ip"], "203.0.113.7");
    // The account the guesses named, for the operator who reads the trail.
    let alice = server.login_alice().await;
    let alice_id = server
        .introspect(alice["access_token"].as_str().unwrap())
        .await["sub"]
        .clone();
    assert_eq!(limited[0]["user"], alice_id);
    assert!(
        limited[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("per_account_ip")
    );

    // Not trusted (the default): the header is the client's word, and ignored.
    let server = Server::with(&file).await;
    assert_eq!(guess_via(&server, "203.0.113.7").await, 400);
    assert_eq!(guess_via(&server, "203.0.113.8").await, 400);
    assert_eq!(
        guess_via(&server, "203.0.113.9").await,
        429,
        "one address: the peer"
    );
    assert!(failed_ips(&server).await.iter().all(|ip| ip == "127.0.0.1"));
}

/// A stolen access token cannot be used to guess the current password: the change route
/// counts guesses like logins, and the right password is refused too once over the limit.
async fn password_change_guesses_are_limited() {
    let file = format!("{ACME}\n[tenants.limits]\nper_account = 3\nper_account_ip = 100\n");
    let server = Server::with(&file).await;
    let tokens = server.login_alice().await;
    let access = tokens["access_token"].as_str().unwrap();
    let change = |current: &'static str| {
        server
            .http
            .post(server.url("/v1/password/change"))
            .bearer_auth(access)
            .json(&serde_json::json!({"current_password": current, "new_password": "An0ther-Passw0rd!"}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(change("Wr0ng-Guess-0!").await.unwrap().status(), 400);
    }
    let resp = change("Wr0ng-Guess-0!").await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(
        change(PASSWORD).await.unwrap().status(),
        429,
        "not checked at all"
    );
    // The lockout names Alice in the audit trail.
    let limited = audited(&server, "login.limited").await;
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["user"], server.introspect(access).await["sub"]);
    assert_eq!(
        limited[0]["detail"],
        "per_account: more than 3 attempts in this window"
    );
    // Logins are counted apart: Alice still logs in with her unchanged password.
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200
    );
}

crate::on_both_stores!(
    password_change_guesses_are_limited,
    clients_behind_a_trusted_proxy_are_told_apart,
    concurrent_guesses_stop_at_the_limit,
    successes_do_not_lock_an_account
);
