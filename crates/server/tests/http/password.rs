//! The password lifecycle end to end, with a real SMTP server receiving the e-mails.

use crate::smtp::{SmtpServer, decoded, recipient, token_in};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

const NEW_PASSWORD: &str = "N3w-Passw0rd!";

fn mail_setup(smtp: &SmtpServer) -> Setup {
    Setup {
        env: vec![
            ("PORTCULLIS_SMTP__URL", smtp.url()),
            ("PORTCULLIS_OUTBOX__RETRY_BASE", "200ms".into()),
            ("PORTCULLIS_OUTBOX__RETRY_MAX", "1s".into()),
        ],
        ..Setup::default()
    }
}

fn forgot(email: &str) -> Value {
    json!({"email": email, "redirect_url": "https://shop.example.com/reset?lang=en"})
}

async fn outbox(server: &Server) -> Vec<Value> {
    let out = server.cli(&["outbox", "list", "--json"]).await;
    assert!(out.ok, "{}", out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

async fn reset_by_email_end_to_end() {
    let smtp = SmtpServer::start().await;
    let server = Server::with_setup(ACME, mail_setup(&smtp)).await;
    let before = server.login_alice().await;

    let resp = server
        .post_json("/v1/password/forgot", &forgot("Alice@Example.com"))
        .await;
    assert_eq!(resp.status(), 202);
    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(recipient(&mail), "alice@example.com");
    assert!(
        mail.contains("Subject: Reset your ACME Commerce password"),
        "{mail}"
    );
    assert!(
        decoded(&mail).contains("https://shop.example.com/reset?lang=en&token="),
        "the link keeps the page's own query"
    );
    let token = token_in(&mail);

    // Every policy violation at once, and nothing changes.
    let resp = server
        .post_json(
            "/v1/password/reset",
            &json!({"token": token, "new_password": "short"}),
        )
        .await;
    let body = expect_error(resp, 400, "invalid_request", "weak_password").await;
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"password_too_short") && codes.contains(&"password_missing_digit"),
        "{codes:?}"
    );
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200
    );

    let resp = server
        .post_json(
            "/v1/password/reset",
            &json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        server
            .login("alice@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
    expect_error(
        server.login("alice@example.com", PASSWORD).await,
        400,
        "invalid_grant",
        "invalid_credentials",
    )
    .await;
    // The sessions from before the reset are over.
    assert_eq!(
        server
            .introspect(before["access_token"].as_str().unwrap())
            .await["active"],
        false
    );
    assert_eq!(
        server
            .refresh(before["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    // The token is spent.
    let again = server
        .post_json(
            "/v1/password/reset",
            &json!({"token": token, "new_password": "An0ther-Passw0rd!"}),
        )
        .await;
    expect_error(again, 400, "invalid_grant", "reset_token_used").await;

    let messages = outbox(&server).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["status"], "sent");
}

async fn forgot_password_tells_nothing_and_refuses_bad_input() {
    let smtp = SmtpServer::start().await;
    let server = Server::with_setup(ACME, mail_setup(&smtp)).await;
    let unknown = server
        .post_json("/v1/password/forgot", &forgot("nobody@example.com"))
        .await;
    let known = server
        .post_json("/v1/password/forgot", &forgot("alice@example.com"))
        .await;
    assert_eq!(unknown.status(), 202);
    assert_eq!(known.status(), 202);
    assert_eq!(
        unknown.text().await.unwrap(),
        known.text().await.unwrap(),
        "the same answer"
    );
    // Throttled: two a minute to one address; the third request is answered the same.
    assert_eq!(
        server
            .post_json("/v1/password/forgot", &forgot("alice@example.com"))
            .await
            .status(),
        202
    );
    assert_eq!(
        server
            .post_json("/v1/password/forgot", &forgot("alice@example.com"))
            .await
            .status(),
        202
    );
    // A later e-mail to someone else shows what came before it was all that was sent.
    let operator = json!({"email": "oscar@example.com", "kind": "operator", "redirect_url": "https://shop.example.com/r"});
    assert_eq!(
        server
            .post_json("/v1/password/forgot", &operator)
            .await
            .status(),
        202
    );
    let mails = smtp.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = if smtp.messages().len() > mails.len() {
        smtp.messages()
    } else {
        mails
    };
    let to: Vec<String> = mails.iter().map(|m| recipient(m)).collect();
    assert_eq!(
        to.iter().filter(|t| *t == "alice@example.com").count(),
        2,
        "{to:?}"
    );
    assert_eq!(
        to.iter().filter(|t| *t == "oscar@example.com").count(),
        1,
        "{to:?}"
    );
    assert!(!to.iter().any(|t| t == "nobody@example.com"));

    // Bad input: each refused with its code, nothing queued.
    let queued = outbox(&server).await.len();
    let bad_host =
        json!({"email": "alice@example.com", "redirect_url": "https://evil.example.net/steal"});
    let body = expect_error(
        server.post_json("/v1/password/forgot", &bad_host).await,
        400,
        "invalid_request",
        "redirect_not_allowed",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "redirect_url");
    let not_url = json!({"email": "alice@example.com", "redirect_url": "javascript:alert(1)"});
    expect_error(
        server.post_json("/v1/password/forgot", &not_url).await,
        400,
        "invalid_request",
        "invalid_redirect_url",
    )
    .await;
    let bad_email = json!({"email": "not-an-email", "redirect_url": "https://shop.example.com/r"});
    expect_error(
        server.post_json("/v1/password/forgot", &bad_email).await,
        400,
        "invalid_request",
        "invalid_email",
    )
    .await;
    let missing = expect_error(
        server
            .post_json(
                "/v1/password/forgot",
                &json!({"redirect_url": "https://shop.example.com/r"}),
            )
            .await,
        400,
        "invalid_request",
        "missing_parameter",
    )
    .await;
    assert_eq!(missing["errors"][0]["field"], "email");
    let resp = server
        .http
        .post(server.url("/v1/password/forgot"))
        .basic_auth("acme-web", Some(API_KEY))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "invalid_request", "malformed_body").await;
    let resp = server
        .http
        .post(server.url("/v1/password/forgot"))
        .basic_auth("acme-web", Some(API_KEY))
        .form(&[("email", "alice@example.com")])
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "invalid_request", "unsupported_content_type").await;
    let resp = server
        .http
        .post(server.url("/v1/password/forgot"))
        .json(&forgot("alice@example.com"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "invalid_client", "invalid_client").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        outbox(&server).await.len(),
        queued,
        "nothing queued by bad requests"
    );

    // Bad reset requests.
    for (token, code) in [
        ("not-a-uuid", "reset_token_invalid"),
        (
            "6f1c2a52-3c5e-4b8e-9d1e-2f8a7b6c5d4e",
            "reset_token_invalid",
        ),
    ] {
        let resp = server
            .post_json(
                "/v1/password/reset",
                &json!({"token": token, "new_password": NEW_PASSWORD}),
            )
            .await;
        expect_error(resp, 400, "invalid_grant", code).await;
    }
    let resp = server
        .post_json("/v1/password/reset", &json!({"new_password": NEW_PASSWORD}))
        .await;
    expect_error(resp, 400, "invalid_request", "missing_parameter").await;
    assert_eq!(
        server.login("alice@example.com", PASSWORD).await.status(),
        200,
        "the password is unchanged"
    );
}

async fn a_newer_link_or_a_password_change_voids_older_links() {
    let smtp = SmtpServer::start().await;
    let server = Server::with_setup(ACME, mail_setup(&smtp)).await;
    server
        .post_json("/v1/password/forgot", &forgot("alice@example.com"))
        .await;
    let first = token_in(&smtp.wait_for(1).await[0]);
    server
        .post_json("/v1/password/forgot", &forgot("alice@example.com"))
        .await;
    let mails = smtp.wait_for(2).await;
    let second = mails
        .iter()
        .map(|m| token_in(m))
        .find(|t| *t != first)
        .unwrap();
    let resp = server
        .post_json(
            "/v1/password/reset",
            &json!({"token": first, "new_password": NEW_PASSWORD}),
        )
        .await;
    expect_error(resp, 400, "invalid_grant", "reset_token_superseded").await;

    // Changing the password (with the current one) voids the newer link too.
    let tokens = server.login_alice().await;
    let other = server.login_alice().await;
    let access = tokens["access_token"].as_str().unwrap();
    let change = |current: &str, new: &str| {
        server
            .http
            .post(server.url("/v1/password/change"))
            .bearer_auth(access)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let body = expect_error(
        change("Wr0ng-Passw0rd!", NEW_PASSWORD).await.unwrap(),
        400,
        "invalid_request",
        "wrong_password",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "current_password");
    expect_error(
        change(PASSWORD, "weak").await.unwrap(),
        400,
        "invalid_request",
        "weak_password",
    )
    .await;
    assert_eq!(change(PASSWORD, NEW_PASSWORD).await.unwrap().status(), 204);
    assert_eq!(
        server.introspect(access).await["active"],
        true,
        "this session goes on"
    );
    assert_eq!(
        server
            .introspect(other["access_token"].as_str().unwrap())
            .await["active"],
        false,
        "the others end"
    );
    let resp = server
        .post_json(
            "/v1/password/reset",
            &json!({"token": second, "new_password": "An0ther-Passw0rd!"}),
        )
        .await;
    expect_error(resp, 400, "invalid_grant", "reset_token_superseded").await;
    assert_eq!(
        server
            .login("alice@example.com", NEW_PASSWORD)
            .await
            .status(),
        200
    );
    let resp = server
        .http
        .post(server.url("/v1/password/change"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "invalid_token", "invalid_token").await;
}

/// SMTP is down when the reset is asked for; the server is killed; it comes back, SMTP comes
/// up, and the e-mail is delivered, once.
async fn an_email_survives_a_crash_and_a_mail_outage() {
    let mut smtp = SmtpServer::stopped();
    let server = Server::with_setup(ACME, mail_setup(&smtp)).await;
    assert_eq!(
        server
            .post_json("/v1/password/forgot", &forgot("alice@example.com"))
            .await
            .status(),
        202
    );
    eventually("a failed delivery attempt", || async {
        let m = outbox(&server).await;
        m.len() == 1
            && m[0]["attempts"].as_u64().unwrap_or(0) >= 1
            && m[0]["last_error"].is_string()
    })
    .await;
    let server = server.crash_and_restart().await;
    assert_eq!(
        outbox(&server).await[0]["status"],
        "pending",
        "still queued after the crash"
    );
    smtp.run().await;
    let mails = smtp.wait_for(1).await;
    eventually("the message to be marked sent", || async {
        outbox(&server).await[0]["status"] == "sent"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered once");
    let token = token_in(&mails[0]);
    let resp = server
        .post_json(
            "/v1/password/reset",
            &json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 204);
}

/// Without SMTP, `serve --demo` writes e-mails as files and logs where.
#[tokio::test]
async fn demo_mode_writes_emails_to_files() {
    let setup = Setup {
        serve_args: vec!["--demo"],
        ..Setup::default()
    };
    let server = Server::start_in(tempfile::tempdir().unwrap(), setup).await;
    let resp = server
        .http
        .post(server.url("/v1/password/forgot"))
        .basic_auth("demo-shop", Some("demo-shop-api-key-0001"))
        .json(&json!({"email": "alice@demo.localhost", "redirect_url": "http://localhost:3000/reset"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let mail_dir = server.dir.path().join("mail");
    let mut files = Vec::new();
    for _ in 0..50 {
        files = std::fs::read_dir(&mail_dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        if !files.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files.len(), 1, "one .eml file in {}", mail_dir.display());
    let mail = std::fs::read_to_string(&files[0]).unwrap();
    assert!(files[0].extension().is_some_and(|e| e == "eml"));
    assert_eq!(recipient(&mail), "alice@demo.localhost");
    token_in(&mail);
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    eventually("the log to name the file", || async {
        server.logs().contains(&name)
    })
    .await;
}

/// A server whose password hashing takes long enough (argon2id with 32 passes) for a
/// change to be interrupted in the middle of its two hashes.
async fn slow_hashing_server() -> Server {
    let setup = Setup {
        env: vec![("PORTCULLIS_HASHING__ITERATIONS", "32".into())],
        ..Setup::default()
    };
    Server::with_setup(ACME, setup).await
}

/// Sends alice's password change and hangs up while it is being served (hyper drops a
/// request's future when it reads the client's end of the connection). Returns the tokens
/// of another session of alice's, which the change should end.
async fn change_and_hang_up(server: &Server) -> Value {
    use tokio::io::AsyncWriteExt;
    let tokens = server.login_alice().await;
    let other = server.login_alice().await;
    let body = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD}).to_string();
    let request = format!(
        "POST /v1/password/change HTTP/1.1\r\nHost: portcullis\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        tokens["access_token"].as_str().unwrap(),
        body.len()
    );
    let mut socket = tokio::net::TcpStream::connect(server.base.trim_start_matches("http://"))
        .await
        .unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    // Long enough for the request to be read, well within its two hashes (verify the
    // current password, hash the new one).
    tokio::time::sleep(Duration::from_millis(30)).await;
    socket.shutdown().await.unwrap();
    drop(socket);
    other
}

/// The change `change_and_hang_up` sent was carried out in full: audited, the new password
/// set, the other session ended.
async fn assert_changed_in_full(server: &Server, other: &Value) {
    let audited = || async {
        let out = server
            .cli(&["audit", "--action", "password.changed", "--json"])
            .await;
        assert!(out.ok, "{}", out.stderr);
        out.stdout.lines().count() == 1 // one JSON event per line
    };
    eventually("the change's audit event", audited).await;
    assert_eq!(
        server
            .login("alice@example.com", NEW_PASSWORD)
            .await
            .status(),
        200,
        "the new password is set"
    );
    assert_eq!(
        server
            .introspect(other["access_token"].as_str().unwrap())
            .await["active"],
        false,
        "the other sessions ended"
    );
}

/// A client that hangs up while its request is being served does not stop the change
/// half-way: the password changes, the other sessions end and the change is audited, as if
/// it had waited for the answer.
async fn a_change_whose_client_hangs_up_is_carried_out_in_full() {
    let server = slow_hashing_server().await;
    let other = change_and_hang_up(&server).await;
    assert_changed_in_full(&server, &other).await;
}

/// Nor does a server told to stop meanwhile: with no connection left to wait for, it still
/// finishes the change before it exits.
async fn a_change_running_when_the_server_stops_is_carried_out_in_full() {
    let server = slow_hashing_server().await;
    let other = change_and_hang_up(&server).await;
    // Time for the server to read the hang-up, so that no connection is left open.
    tokio::time::sleep(Duration::from_millis(30)).await;
    let server = server.restart().await;
    assert_changed_in_full(&server, &other).await;
}

crate::on_both_stores!(
    reset_by_email_end_to_end,
    forgot_password_tells_nothing_and_refuses_bad_input,
    a_newer_link_or_a_password_change_voids_older_links,
    an_email_survives_a_crash_and_a_mail_outage,
    a_change_whose_client_hangs_up_is_carried_out_in_full,
    a_change_running_when_the_server_stops_is_carried_out_in_full,
);

/// An operator sees a message that gave up, sends it again once SMTP is back, and purges it.
#[tokio::test]
async fn the_outbox_commands_list_retry_and_purge() {
    let mut smtp = SmtpServer::stopped();
    let mut setup = mail_setup(&smtp);
    setup
        .env
        .push(("PORTCULLIS_OUTBOX__MAX_ATTEMPTS", "1".into()));
    let server = Server::with_setup(ACME, setup).await;
    assert_eq!(
        server
            .post_json("/v1/password/forgot", &forgot("alice@example.com"))
            .await
            .status(),
        202
    );
    eventually("the message to give up", || async {
        outbox(&server)
            .await
            .first()
            .is_some_and(|m| m["status"] == "dead")
    })
    .await;
    let dead = server.cli(&["outbox", "list", "--status", "dead"]).await;
    assert!(
        dead.ok && dead.stdout.contains("alice@example.com"),
        "{}",
        dead.stdout
    );
    let id = outbox(&server).await[0]["id"].as_str().unwrap().to_owned();

    smtp.run().await;
    let retried = server.cli(&["outbox", "retry", &id]).await;
    assert!(retried.ok, "{}", retried.stderr);
    smtp.wait_for(1).await;
    eventually("the message to be sent", || async {
        outbox(&server).await[0]["status"] == "sent"
    })
    .await;
    let again = server.cli(&["outbox", "retry", &id]).await;
    assert!(!again.ok, "a sent message is not sent again");
    let bad = server.cli(&["outbox", "retry", "not-an-id"]).await;
    assert!(!bad.ok);

    let purged = server.cli(&["outbox", "purge", "--older-than", "0s"]).await;
    assert!(
        purged.ok && purged.stdout.starts_with('1'),
        "{}",
        purged.stdout
    );
    assert!(outbox(&server).await.is_empty());
}
