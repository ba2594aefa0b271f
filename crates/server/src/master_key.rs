//! The master key: from the settings (`PORTCULLIS_MASTER_KEY`), else from its file, which is
//! created with mode 0600 on first start. It seals the signing keys at rest.

use crate::config::Settings;
use anyhow::Context;
use portcullis_core::secret::MasterKey;
use std::io::Write;
use std::path::Path;

pub fn load_or_create(settings: &Settings) -> anyhow::Result<MasterKey> {
    if let Some(text) = &settings.master_key {
        return MasterKey::from_text(text).context("the master key must be at least 32 characters");
    }
    let path = settings.master_key_path();
    if path.exists() {
        check_permissions(&path)?;
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read the master key file {}", path.display()))?,
        );
        return MasterKey::from_text(text.trim()).with_context(|| {
            format!(
                "the master key in {} must be at least 32 characters",
                path.display()
            )
        });
    }
    let text = MasterKey::generate_text();
    write_new(&path, text.as_bytes())
        .with_context(|| format!("cannot create the master key file {}", path.display()))?;
    tracing::info!(path = %path.display(), "created a new master key; back it up with the database");
    MasterKey::from_text(&text).context("generated master key is invalid")
}

#[cfg(unix)]
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // create_new: never overwrite a key another process just wrote.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.write_all(b"\n")?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), mode = format!("{:o}", mode & 0o777), "the master key file is readable by others; chmod 600 it");
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> anyhow::Result<()> {
    Ok(())
}
