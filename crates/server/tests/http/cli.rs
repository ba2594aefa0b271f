//! The command line: import, export, users, sessions, settings; bad input refused whole.

use crate::support::*;
use serde_json::Value;

async fn import_is_idempotent_and_export_has_no_secrets() {
    let server = Server::with(ACME).await;
    let file = path_of(&server.dir, "provisioning.toml");
    let again = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(again.ok, "{}", again.stderr);
    assert!(again.stdout.contains("2 unchanged"), "{}", again.stdout);
    assert_eq!(import_changes(&again.stdout), 0, "{}", again.stdout);

    let export = server.cli(&["export"]).await;
    assert!(export.ok, "{}", export.stderr);
    assert!(export.stdout.contains("slug = \"acme\""));
    assert!(
        !export.stdout.contains(API_KEY)
            && !export.stdout.contains(PASSWORD)
            && !export.stdout.contains("$argon2")
    );
    let json = server.cli(&["export", "--format", "json"]).await;
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["tenants"][0]["users"].as_array().unwrap().len(), 2);

    // The export imports back without changing anything.
    let exported = path_of(&server.dir, "exported.toml");
    std::fs::write(&exported, &export.stdout).unwrap();
    let out = server.cli(&["import", exported.to_str().unwrap()]).await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(import_changes(&out.stdout), 0, "{}", out.stdout);
    // And the passwords are untouched.
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200
    );
}

async fn a_bad_file_is_refused_whole_and_named() {
    let server = Server::with(ACME).await;
    let before = server.cli(&["export", "--format", "json"]).await.stdout;

    // A new user with a weak password after a valid new store: neither is written.
    let weak = format!(
        "{ACME}\n[[tenants.stores]]\ncode = \"NEW\"\n\n[[tenants.users]]\nkind = \"customer\"\nemail = \"weak@example.com\"\npassword = \"short\"\n"
    );
    let file = path_of(&server.dir, "weak.toml");
    std::fs::write(&file, weak).unwrap();
    let out = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("tenants[0].users[2]"), "{}", out.stderr);

    // A hash from another system too costly to verify at every login (argon2 with 4 GiB).
    let costly = format!(
        "{ACME}\n[[tenants.users]]\nkind = \"customer\"\nemail = \"costly@example.com\"\npassword_hash = \"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80\"\n"
    );
    std::fs::write(&file, costly).unwrap();
    let out = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("tenants[0].users[2].password_hash")
            && out.stderr.contains("argon2 memory m=4194304 KiB"),
        "{}",
        out.stderr
    );

    // Syntax errors name the line.
    std::fs::write(&file, "version = 1\n[[tenants]]\nslug = \"x\"\nname = \n").unwrap();
    let out = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("line 4"), "{}", out.stderr);

    // Unknown keys are refused.
    std::fs::write(
        &file,
        "version = 1\n[[tenants]]\nslug = \"x\"\nname = \"X\"\ncolour = \"red\"\n",
    )
    .unwrap();
    let out = server.cli(&["import", file.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("colour"), "{}", out.stderr);

    // A JSON file with a bad kind.
    let json_file = path_of(&server.dir, "bad.json");
    std::fs::write(
        &json_file,
        r#"{"version": 1, "tenants": [{"slug": "acme", "name": "ACME", "users": [{"kind": "robot", "email": "r@example.com"}]}]}"#,
    )
    .unwrap();
    let out = server.cli(&["import", json_file.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(
        out.stderr.contains("robot") && out.stderr.contains("line 1"),
        "{}",
        out.stderr
    );

    let after = server.cli(&["export", "--format", "json"]).await.stdout;
    assert_eq!(before, after, "a refused import writes nothing");
}

async fn users_are_managed_from_the_command_line() {
    let server = Server::with(ACME).await;
    let out = server
        .cli_stdin(
            &[
                "user",
                "add",
                "--tenant",
                "acme",
                "--kind",
                "customer",
                "--email",
                "bob@example.com",
                "--profile",
                "buyer",
                "--password-stdin",
            ],
            "Bob-Passw0rd!\n",
        )
        .await;
    assert!(out.ok, "{}", out.stderr);
    eventually("Bob to log in", || async {
        server
            .login("bob@example.com", "Bob-Passw0rd!")
            .await
            .status()
            == 200
    })
    .await;

    // A duplicate and a weak password are refused, and write nothing.
    let dup = server
        .cli_stdin(
            &[
                "user",
                "add",
                "--tenant",
                "acme",
                "--email",
                "BOB@example.com",
                "--password-stdin",
            ],
            "Bob-Passw0rd!\n",
        )
        .await;
    assert!(!dup.ok);
    let weak = server
        .cli_stdin(
            &[
                "user",
                "add",
                "--tenant",
                "acme",
                "--email",
                "carl@example.com",
                "--password-stdin",
            ],
            "weak\n",
        )
        .await;
    assert!(!weak.ok);
    assert!(weak.stderr.contains("polic"), "{}", weak.stderr);
    let list = server
        .cli(&[
            "user", "list", "--tenant", "acme", "--kind", "customer", "--json",
        ])
        .await;
    let users: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(users.len(), 2, "alice and bob only");

    // Changing the password ends Bob's sessions.
    let tokens: Value = server
        .login("bob@example.com", "Bob-Passw0rd!")
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let out = server
        .cli_stdin(
            &[
                "user",
                "passwd",
                "--tenant",
                "acme",
                "--login",
                "bob@example.com",
            ],
            "New-Passw0rd!\n",
        )
        .await;
    assert!(out.ok, "{}", out.stderr);
    eventually("the old session to be refused", || async {
        server.introspect(&access).await["active"] == false
    })
    .await;
    assert_eq!(
        server
            .login("bob@example.com", "New-Passw0rd!")
            .await
            .status(),
        200
    );

    // Disabling refuses logins with the same answer as a wrong password... once the password is right it says so.
    let out = server
        .cli(&[
            "user",
            "disable",
            "--tenant",
            "acme",
            "--login",
            "bob@example.com",
        ])
        .await;
    assert!(out.ok, "{}", out.stderr);
    let resp = server.login("bob@example.com", "New-Passw0rd!").await;
    expect_error(resp, 400, "invalid_grant", "account_disabled").await;

    // Sessions: list and revoke one.
    let alice = server.login_alice().await;
    let sessions = server
        .cli(&[
            "session",
            "list",
            "--tenant",
            "acme",
            "--login",
            "alice@example.com",
            "--json",
        ])
        .await;
    let live: Vec<Value> = serde_json::from_str(&sessions.stdout).unwrap();
    assert_eq!(live.len(), 1);
    let sid = live[0]["id"].as_str().unwrap();
    let out = server.cli(&["session", "revoke", sid]).await;
    assert!(out.ok, "{}", out.stderr);
    let access = alice["access_token"].as_str().unwrap().to_owned();
    eventually("the revoked session to be refused", || async {
        server.introspect(&access).await["active"] == false
    })
    .await;
    let again = server.cli(&["session", "revoke", sid]).await;
    assert!(!again.ok, "revoking twice is reported");
    let bad = server.cli(&["session", "revoke", "not-a-session"]).await;
    assert!(!bad.ok);
}

#[tokio::test]
async fn config_check_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "listen = \"127.0.0.1:9000\"\ndatabase_url = \"sqlite://./p.db\"\n[smtp]\nurl = \"smtp://127.0.0.1:2525\"\n[dialects.openloyalty]\ntenant = \"acme\"\n",
    )
    .unwrap();
    let out = cli_in(dir.path(), &["config", "check", good.to_str().unwrap()]).await;
    assert!(out.ok, "{}", out.stderr);
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "listen = \"127.0.0.1:9000\"\n[http]\nbody_limt = 10\n",
    )
    .unwrap();
    let out = cli_in(dir.path(), &["config", "check", bad.to_str().unwrap()]).await;
    assert!(!out.ok);
    assert!(out.stderr.contains("body_limt"), "{}", out.stderr);
    for (text, key) in [
        (
            "[http]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
            "http.trusted_proxies",
        ),
        (
            "[http]\ntrusted_proxies = [\"proxy.local\"]\n",
            "http.trusted_proxies",
        ),
        (
            "[http]\ntrusted_proxies = [\"0.0.0.0/0\"]\n",
            "trusts every address",
        ),
        (
            "[http]\ntrusted_proxies = [\"::/0\"]\n",
            "trusts every address",
        ),
        (
            "[http]\ntrusted_proxies = [\"::ffff:0.0.0.0/96\"]\n",
            "trusts every address",
        ),
        ("[metrics]\nlisten = \"localhost:9090\"\n", "metrics.listen"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let out = cli_in(dir.path(), &["config", "check", bad.to_str().unwrap()]).await;
        assert!(!out.ok, "{text}");
        assert!(out.stderr.contains(key), "{text}: {}", out.stderr);
    }
    std::fs::write(
        &good,
        "[http]\ntrusted_proxies = [\"10.0.0.5\", \"10.1.0.0/16\", \"fd00::/8\"]\n[metrics]\nlisten = \"127.0.0.1:9090\"\n",
    )
    .unwrap();
    let out = cli_in(dir.path(), &["config", "check", good.to_str().unwrap()]).await;
    assert!(out.ok, "{}", out.stderr);
}

async fn the_audit_trail_is_queried_from_the_command_line() {
    let server = Server::with(ACME).await;
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200
    );
    assert_eq!(
        server
            .login("alice@example.com", "Wr0ng-Passw0rd!")
            .await
            .status(),
        400
    );
    assert_eq!(
        server
            .login("nobody@example.com", "Wr0ng-Passw0rd!")
            .await
            .status(),
        400
    );
    let lines = |out: &CliOutput| -> Vec<serde_json::Value> {
        out.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let out = server.cli(&["audit", "--tenant", "acme", "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    let all = lines(&out);
    let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions[..3],
        ["login.failed", "login.failed", "login.succeeded"],
        "newest first"
    );
    assert_eq!(all[0]["detail"], "unknown user");
    assert_eq!(all[1]["detail"], "wrong password");
    assert_eq!(all[2]["client_id"], "acme-web");
    assert_eq!(all[2]["ip"], "127.0.0.1");
    assert!(
        !out.stdout.contains(PASSWORD) && !out.stdout.contains("Wr0ng"),
        "no secrets"
    );

    // By user, by time, by count.
    let out = server
        .cli(&["audit", "--tenant", "acme", "--user", "alice", "--json"])
        .await;
    let alice = lines(&out);
    assert!(
        alice.len() >= 2 && alice.iter().all(|e| e["user"] == all[2]["user"]),
        "{}",
        out.stdout
    );
    let out = server
        .cli(&[
            "audit", "--tenant", "acme", "--since", "1h", "--limit", "1", "--json",
        ])
        .await;
    assert_eq!(lines(&out).len(), 1);
    // By action (a name or a family), by the users' kind, before a time.
    let out = server
        .cli(&["audit", "--action", "login.failed", "--json"])
        .await;
    assert_eq!(lines(&out).len(), 2, "{}", out.stdout);
    let out = server
        .cli(&["audit", "--action", "login", "--kind", "customer", "--json"])
        .await;
    let customer = lines(&out);
    assert_eq!(
        customer.len(),
        2,
        "the anonymous failure has no user: {}",
        out.stdout
    );
    assert!(customer.iter().all(|e| e["user"] == all[2]["user"]));
    let out = server.cli(&["audit", "--kind", "operator", "--json"]).await;
    assert!(out.ok && out.stdout.is_empty(), "{}", out.stdout);
    let out = server
        .cli(&["audit", "--until", "2000-01-01T00:00:00Z"])
        .await;
    assert!(out.ok && out.stdout.is_empty(), "{}", out.stdout);
    let out = server
        .cli(&["audit", "--since", "2999-01-01T00:00:00Z"])
        .await;
    assert!(out.ok && out.stdout.is_empty(), "{}", out.stdout);
    // Page by page: each page starts after the last event of the one before.
    let mut paged = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut args = vec!["audit", "--tenant", "acme", "--limit", "2", "--json"];
        if let Some(id) = &before {
            args.extend(["--before", id.as_str()]);
        }
        let page = lines(&server.cli(&args).await);
        let Some(last) = page.last() else { break };
        before = Some(last["id"].as_str().unwrap().to_owned());
        paged.extend(page);
    }
    assert_eq!(paged, all, "the pages make up the whole trail");
    let out = server.cli(&["audit", "--tenant", "acme"]).await;
    assert!(
        out.stdout.lines().next().unwrap().contains("login.failed"),
        "{}",
        out.stdout
    );

    // Bad filters are named.
    for (args, says) in [
        (&["audit", "--user", "alice"][..], "--user needs --tenant"),
        (
            &["audit", "--tenant", "acme", "--user", "ghost"][..],
            "no user \"ghost\"",
        ),
        (&["audit", "--since", "yesterday-ish"][..], "--since"),
        (&["audit", "--until", "soon"][..], "--until"),
        (&["audit", "--kind", "robot"][..], "--kind"),
        (&["audit", "--before", "last-one"][..], "--before"),
        (&["audit", "--tenant", "nope"][..], "tenant"),
    ] {
        let out = server.cli(args).await;
        assert!(!out.ok, "{args:?}");
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}

/// `session purge` deletes what housekeeping would: sessions past their absolute end by more
/// than the retention, and nothing else.
async fn ended_sessions_are_purged_from_the_command_line() {
    // Sessions of one second, kept one second after their end.
    let provisioning = ACME.replace(
        "[tenants.tokens]\n",
        "[tenants.tokens]\nsession_max_age = \"1s\"\n",
    );
    let setup = Setup {
        env: vec![("PORTCULLIS_SESSIONS__RETENTION", "1s".into())],
        ..Setup::default()
    };
    let server = Server::with_setup(&provisioning, setup).await;
    let ended = server.login_alice().await;
    let purge = || server.cli(&["session", "purge"]);
    let out = purge().await;
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(
        out.stdout.trim(),
        "sessions deleted: 0, refresh tokens deleted: 0 (ended more than 1s ago)"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let live = server.login_alice().await;
    let out = purge().await;
    assert_eq!(
        out.stdout.trim(),
        "sessions deleted: 1, refresh tokens deleted: 0 (ended more than 1s ago)",
        "{}",
        out.stderr
    );
    let all = server
        .cli(&["session", "list", "--tenant", "acme", "--all", "--json"])
        .await;
    let ids: Vec<String> = serde_json::from_str::<Vec<Value>>(&all.stdout)
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    let sid = |tokens: &Value| {
        let token = tokens["access_token"].as_str().unwrap();
        let claims = token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims)
                .unwrap(),
        )
        .unwrap();
        claims["sid"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        ids,
        vec![sid(&live)],
        "the ended session went, the new one stays"
    );
    assert_ne!(sid(&ended), sid(&live));
    // The refresh token of the deleted session is refused like any unknown one.
    let resp = server
        .refresh(ended["refresh_token"].as_str().unwrap())
        .await;
    expect_error(resp, 400, "invalid_grant", "refresh_token_invalid").await;
}

crate::on_both_stores!(
    ended_sessions_are_purged_from_the_command_line,
    the_audit_trail_is_queried_from_the_command_line,
    import_is_idempotent_and_export_has_no_secrets,
    a_bad_file_is_refused_whole_and_named,
    users_are_managed_from_the_command_line,
);

/// `migrate-store` copies a live SQLite store into an empty SQLite file and, when a server
/// is given, an empty PostgreSQL database; a node on the copy serves the same users, keys
/// and sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_store_copies_everything_and_the_copy_serves() {
    // One issuer for source and copies, as a real migration keeps it.
    let issuer = || Setup {
        env: vec![("PORTCULLIS_ISSUER", "https://auth.example.com".into())],
        ..Setup::default()
    };
    let source = Server::with_setup(ACME, issuer()).await;
    let tokens = source.login_alice().await;
    let revoked = source.login_alice().await;
    let revoked_access = revoked["access_token"].as_str().unwrap().to_owned();
    let resp = source
        .http
        .post(source.url("/v1/logout"))
        .bearer_auth(&revoked_access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let old_kid = jsonwebtoken::decode_header(tokens["access_token"].as_str().unwrap())
        .unwrap()
        .kid
        .unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // What the dialects keep: a JRNI member token (opaque) and the member's number, a JRNI
    // purchase, a JFW device.
    let jrni = |req: reqwest::RequestBuilder, token: &str| {
        req.header("App-Id", "acme-web").header("Auth-Token", token)
    };
    let (member_token, member) = source.jrni_login().await;
    let member = member["_embedded"]["members"][0]["id"].as_i64().unwrap();
    let resp = jrni(
        source.http.post(source.url("/api/v5/1/basket/add_item")),
        &member_token,
    )
    .json(&serde_json::json!({"service_id": 12, "date": "2026-12-01", "time": 600}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let resp = jrni(
        source.http.post(source.url("/api/v5/1/basket/checkout")),
        &member_token,
    )
    .json(&serde_json::json!({"client": {"name": "Alice"}}))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let purchase: Value = resp.json().await.unwrap();
    let long_id = purchase["long_id"].as_str().unwrap().to_owned();
    let resp = source
        .http
        .post(source.url("/api/v1/users/auth"))
        .header("Brand-URL", "acme.example.com")
        .header("X-Device-Code", "phone-1")
        .header("X-Device-Token", "fcm-token-1")
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let jfw: Value = resp.json().await.unwrap();
    let (jfw_user, auth_key) = (
        jfw["data"]["id"].as_str().unwrap().to_owned(),
        jfw["data"]["authKey"].as_str().unwrap().to_owned(),
    );

    let mut targets = vec![(
        format!("sqlite://{}", path_of(&source.dir, "copy.db").display()),
        None,
    )];
    match postgres_url() {
        Some(_) => {
            let db = TestDatabase::create();
            targets.push((db.url.clone(), Some(db)));
        }
        None => eprintln!("SKIPPED the PostgreSQL target: set PORTCULLIS_TEST_POSTGRES_URL"),
    }
    for (url, _db) in &targets {
        let out = source
            .cli(&["migrate-store", "--from", &source.db_url(), "--to", url])
            .await;
        assert!(out.ok, "{}", out.stderr);
        assert!(
            out.stdout.contains("users") && out.stdout.contains("copied"),
            "{}",
            out.stdout
        );
        // Into a store that is no longer empty: refused, nothing written twice.
        let again = source
            .cli(&["migrate-store", "--from", &source.db_url(), "--to", url])
            .await;
        assert!(!again.ok);

        let setup = Setup {
            database_url: Some(url.clone()),
            ..issuer()
        };
        let copy = Server::start_in(tempfile::tempdir().unwrap(), setup).await;
        // Access tokens keep their state: the live one works, the logged-out one does not.
        assert_eq!(
            copy.introspect(tokens["access_token"].as_str().unwrap())
                .await["active"],
            true
        );
        assert_eq!(
            copy.introspect(&revoked_access).await["active"],
            false,
            "revocations survive the move"
        );
        // The live session came along: its refresh token works on the copy.
        let resp = copy.refresh(&refresh).await;
        assert_eq!(resp.status(), 200, "{url}");
        let refreshed: Value = resp.json().await.unwrap();
        let kid = jsonwebtoken::decode_header(refreshed["access_token"].as_str().unwrap())
            .unwrap()
            .kid
            .unwrap();
        assert_eq!(kid, old_kid, "the signing key came along");
        // The JRNI member keeps the token and the number the client knows them by, and
        // the purchase is there.
        let resp = jrni(
            copy.http
                .get(copy.url(&format!("/api/v5/1/members/{member}"))),
            &member_token,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let read: Value = resp.json().await.unwrap();
        assert_eq!(read["id"], member, "{url}");
        // A member's purchase is read with the member's token.
        let resp = jrni(
            copy.http
                .get(copy.url(&format!("/api/v5/purchases/{long_id}"))),
            &member_token,
        )
        .send()
        .await
        .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        // The JFW auth key works, and the device is there, signed in.
        let resp = copy
            .http
            .get(copy.url(&format!("/api/v1/users/{jfw_user}/devices")))
            .header("Brand-URL", "acme.example.com")
            .header("AuthKey", &auth_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        let devices: Value = resp.json().await.unwrap();
        assert_eq!(devices["data"][0]["code"], "phone-1", "{devices}");
        assert_eq!(devices["data"][0]["signedIn"], true, "{devices}");
        // The password hash came along.
        assert_eq!(
            copy.login("alice@example.com", PASSWORD).await.status(),
            200
        );
        let users = copy
            .cli(&["user", "list", "--tenant", "acme", "--json"])
            .await;
        assert_eq!(
            serde_json::from_str::<Vec<Value>>(&users.stdout)
                .unwrap()
                .len(),
            2
        );
    }
    let missing = source
        .cli(&[
            "migrate-store",
            "--from",
            "sqlite:///nonexistent/p.db",
            "--to",
            &targets[0].0,
        ])
        .await;
    assert!(
        !missing.ok && missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
}
