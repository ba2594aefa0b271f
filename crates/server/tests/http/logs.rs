//! Logs: every request has an id, in the response and on its log lines; and at the most
//! verbose level no password, token, key or reset link reaches the log, whatever the API.

use crate::smtp::{SmtpServer, token_in};
use crate::support::*;
use serde_json::{Value, json};

async fn request_ids_and_no_secrets_in_the_log() {
    let smtp = SmtpServer::start().await;
    let setup = Setup {
        env: vec![
            ("PORTCULLIS_SMTP__URL", smtp.url()),
            ("RUST_LOG", "debug".into()),
        ],
        ..Setup::default()
    };
    let server = Server::with_setup(ACME, setup).await;
    let mut secrets: Vec<String> = vec![PASSWORD.into(), API_KEY.into(), "Wr0ng-Passw0rd!".into()];

    // Each answer names its request; a caller's own id is kept.
    let resp = server.login("alice@example.com", PASSWORD).await;
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID");
    let pair: Value = resp.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let resp = server
        .http
        .get(server.url("/healthz"))
        .header("X-Request-Id", "caller-chosen-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "caller-chosen-id-42");

    // Secrets through every door: a refresh, a token in a query string (DJUST), a wrong
    // password, the JRNI and JFW logins, a reset link and its use.
    let resp = server.refresh(&refresh).await;
    let next: Value = resp.json().await.unwrap();
    secrets.push(next["refresh_token"].as_str().unwrap().to_owned());
    secrets.push(next["access_token"].as_str().unwrap().to_owned());
    let resp = server
        .http
        .get(server.url(&format!("/auth/is-token-valid?token={access}")))
        .header("dj-client", "ACCOUNT")
        .header("dj-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        server
            .login("alice@example.com", "Wr0ng-Passw0rd!")
            .await
            .status(),
        400
    );
    secrets.push(server.jrni_token().await);
    let jfw = server.jfw_sign_in().await;
    secrets.push(jfw["authKey"].as_str().unwrap().to_owned());
    secrets.push(jfw["refreshAuthKey"].as_str().unwrap().to_owned());
    let resp = server
        .post_json(
            "/v1/password/forgot",
            &json!({"email": "alice@example.com", "redirect_url": "https://shop.example.com/reset"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let token = token_in(&smtp.wait_for(1).await.remove(0));
    let resp = server
        .post_json(
            "/v1/password/reset",
            &json!({"token": token, "new_password": "N3w-Passw0rd!"}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    secrets.extend([token, "N3w-Passw0rd!".to_owned(), access, refresh]);

    eventually("the login's request id in the log", || async {
        server.logs().contains(&id)
    })
    .await;
    let logs = server.logs();
    let line = logs
        .lines()
        .find(|l| l.contains(&id) && l.contains("/oauth2/token"))
        .expect("a line with the request's id and path");
    let v: Value = serde_json::from_str(line).unwrap();
    assert!(
        v["span"]["request_id"] == id.as_str() || line.contains("request_id"),
        "{line}"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret in the log: {secret}\n{}",
            logs.lines()
                .find(|l| l.contains(secret.as_str()))
                .unwrap_or_default()
        );
    }
    assert!(!logs.contains("token="), "no token query string in the log");
}

crate::on_both_stores!(request_ids_and_no_secrets_in_the_log);
