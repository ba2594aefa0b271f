//! The reset flow through the core on a real SQLite file with a fixed clock, so expiry can be
//! tested without waiting a day. The mailer here records instead of sending; the HTTP tests
//! send through a real SMTP server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use portcullis_core::clock::FixedClock;
use portcullis_core::outbox::{MailError, MailRequest, Mailer, OutboxFilter, OutboxStatus};
use portcullis_core::provisioning::ProvisioningDoc;
use portcullis_core::secret::MasterKey;
use portcullis_core::service::ForgotPassword;
use portcullis_core::{Core, CoreError, CoreSettings, Store, Timestamp};
use portcullis_store_sqlite::SqliteStore;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zeroize::Zeroizing;

#[derive(Default)]
struct Recorder(Mutex<Vec<MailRequest>>);

#[async_trait]
impl Mailer for Recorder {
    async fn deliver(&self, mail: &MailRequest) -> Result<(), MailError> {
        self.0.lock().unwrap().push(mail.clone());
        Ok(())
    }
}

async fn setup() -> (tempfile::TempDir, Arc<Core>, Arc<FixedClock>) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(dir.path().join("p.db").to_str().unwrap())
            .await
            .unwrap(),
    );
    let clock = Arc::new(FixedClock::new(Timestamp::from_secs(1_800_000_000)));
    let master = MasterKey::from_text("password-flow-master-key-0123456789").unwrap();
    let core = Arc::new(
        Core::start(store, clock.clone(), master, CoreSettings::default())
            .await
            .unwrap(),
    );
    let doc: ProvisioningDoc = serde_json::from_value(serde_json::json!({
        "version": 1,
        "tenants": [{
            "slug": "acme", "name": "ACME",
            "passwords": {"reset_ttl": "24h"},
            "apps": [{"client_id": "web", "api_key": "web-api-key-0123456789", "kinds": ["customer"],
                      "redirect_hosts": ["shop.example.com"]}],
            "users": [{"kind": "customer", "email": "alice@example.com", "password": "Str0ng!Passw0rd"}]
        }]
    }))
    .unwrap();
    core.import(&doc).await.unwrap();
    (dir, core, clock)
}

/// Asks for a reset and returns the token from the delivered e-mail.
async fn reset_token(core: &Arc<Core>, mailer: &Recorder) -> String {
    let app = core
        .authenticate_client("web", "web-api-key-0123456789")
        .unwrap();
    let before = mailer.0.lock().unwrap().len();
    core.forgot_password(
        &app,
        ForgotPassword {
            email: "alice@example.com".into(),
            redirect_url: "https://shop.example.com/reset".into(),
            kind: None,
            locale: None,
            ctx: Default::default(),
            refuse_if_pending: false,
            accept_username: false,
        },
    )
    .await
    .unwrap();
    for _ in 0..100 {
        core.deliver_outbox(mailer).await.unwrap();
        if mailer.0.lock().unwrap().len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mails = mailer.0.lock().unwrap();
    let link = mails.last().expect("an e-mail").vars["link"].clone();
    link.split("token=").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn a_reset_token_expires_after_its_lifetime() {
    let (_dir, core, clock) = setup().await;
    let mailer = Recorder::default();
    let token = reset_token(&core, &mailer).await;
    let app = core
        .authenticate_client("web", "web-api-key-0123456789")
        .unwrap();

    clock.advance(Duration::from_secs(24 * 3600));
    let err = core
        .reset_password(
            &app,
            &token,
            Zeroizing::new("N3w-Passw0rd!".into()),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CoreError::InvalidGrant {
                code: "reset_token_expired",
                ..
            }
        ),
        "{err:?}"
    );

    // One second before the end, it still works.
    clock.advance(Duration::from_secs(61));
    let fresh = reset_token(&core, &mailer).await;
    clock.advance(Duration::from_secs(24 * 3600 - 1));
    core.reset_password(
        &app,
        &fresh,
        Zeroizing::new("N3w-Passw0rd!".into()),
        &Default::default(),
    )
    .await
    .unwrap();
    let sent = core
        .list_outbox(&OutboxFilter {
            status: Some(OutboxStatus::Sent),
            limit: 0,
        })
        .await
        .unwrap();
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter().all(|m| m.payload.is_none()),
        "delivered messages keep no secret"
    );
}

#[tokio::test]
async fn a_link_cannot_reopen_a_disabled_account() {
    let (_dir, core, _clock) = setup().await;
    let mailer = Recorder::default();
    let token = reset_token(&core, &mailer).await;
    let app = core
        .authenticate_client("web", "web-api-key-0123456789")
        .unwrap();
    let tenant = core.tenant_by_slug("acme").unwrap();
    let alice = core
        .find_user(
            &tenant,
            portcullis_core::user::UserKind::Customer,
            "alice@example.com",
        )
        .await
        .unwrap();
    core.set_user_status(&alice, portcullis_core::user::UserStatus::Disabled, "test")
        .await
        .unwrap();
    let err = core
        .reset_password(
            &app,
            &token,
            Zeroizing::new("N3w-Passw0rd!".into()),
            &Default::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CoreError::InvalidGrant {
                code: "reset_token_invalid",
                ..
            }
        ),
        "{err:?}"
    );
    let unchanged = core
        .find_user(
            &tenant,
            portcullis_core::user::UserKind::Customer,
            "alice@example.com",
        )
        .await
        .unwrap();
    assert_eq!(unchanged.password_hash, alice.password_hash);
}
