//! Opening the store and starting the core from the settings: shared by `serve` and the
//! administrative commands.

use crate::config::{Settings, is_postgres_url, sqlite_path};
use anyhow::Context;
use portcullis_core::outbox::Mailer;
use portcullis_core::{Core, CoreSettings, Store, SystemClock};
use portcullis_mail::{FileMailer, SmtpMailer, Templates};
use portcullis_store_postgres::PgStore;
use portcullis_store_sqlite::SqliteStore;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Notify;

/// The core, and the signal its store gives when another node records a change (PostgreSQL).
pub struct Opened {
    pub core: Arc<Core>,
    pub changes: Option<Arc<Notify>>,
}

pub async fn open_core(settings: &Settings, bound: Option<SocketAddr>) -> anyhow::Result<Opened> {
    let master = crate::master_key::load_or_create(settings)?;
    let (store, changes) = open_store(&settings.database_url, settings).await?;
    let listen = bound
        .map(|a| a.to_string())
        .unwrap_or_else(|| settings.listen.clone());
    let core_settings = CoreSettings {
        issuer: settings
            .issuer
            .clone()
            .unwrap_or_else(|| format!("http://{listen}")),
        hashing: settings.hashing.clone(),
        outbox: settings.outbox.clone(),
        audit_retention: settings.audit.retention,
        session_retention: settings.sessions.retention,
        // Revocations are remembered while any token of any API can still be valid.
        min_revocation_window: dialect_access_ttls(settings).fold(
            CoreSettings::default().min_revocation_window,
            std::time::Duration::max,
        ),
        ..CoreSettings::default()
    };
    let core = Core::start(store, Arc::new(SystemClock), master, core_settings).await?;
    Ok(Opened {
        core: Arc::new(core),
        changes,
    })
}

/// The store the URL names: PostgreSQL for `postgres://…`, else the embedded SQLite file.
pub async fn open_store(
    url: &str,
    settings: &Settings,
) -> anyhow::Result<(Arc<dyn Store>, Option<Arc<Notify>>)> {
    if is_postgres_url(url) {
        let store = PgStore::open(url, &settings.database.to_pg()).await?;
        let signal = store.change_signal();
        return Ok((Arc::new(store), Some(signal)));
    }
    if let Some(path) = sqlite_path(url) {
        create_private(&path)?;
    }
    Ok((Arc::new(SqliteStore::open(url).await?), None))
}

/// Creates an empty database file readable by its owner only (it holds password hashes and
/// sealed keys); SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private(path: &std::path::Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it first: fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// The mailer the settings ask for: SMTP when `smtp.url` is set, else `.eml` files.
pub fn mailer(settings: &Settings) -> anyhow::Result<Arc<dyn Mailer>> {
    let smtp = &settings.smtp;
    let from = portcullis_mail::parse_from(&smtp.from).map_err(anyhow::Error::msg)?;
    let templates = Templates::new(smtp.templates_dir.clone());
    Ok(match &smtp.url {
        Some(url) => Arc::new(
            SmtpMailer::new(url, from, smtp.timeout, templates).map_err(anyhow::Error::msg)?,
        ),
        None => {
            tracing::info!(dir = %smtp.mail_dir.display(), "no SMTP server configured: e-mails are written as .eml files");
            Arc::new(FileMailer::new(smtp.mail_dir.clone(), from, templates))
        }
    })
}

/// Access-token lifetimes the dialects set beyond the tenants' own.
fn dialect_access_ttls(settings: &Settings) -> impl Iterator<Item = std::time::Duration> {
    let ol = settings
        .dialects
        .openloyalty
        .enabled
        .then(|| settings.openloyalty().access_ttl);
    ol.into_iter()
}
