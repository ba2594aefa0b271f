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

crate::on_both_stores!(
    concurrent_guesses_stop_at_the_limit,
    successes_do_not_lock_an_account
);
