//! Delivery into a folder as `.eml` files, for development without a mail server.

use crate::{Templates, build};
use async_trait::async_trait;
use lettre::message::Mailbox;
use portcullis_core::outbox::{MailError, MailRequest, Mailer};
use std::path::PathBuf;

pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
    templates: Templates,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: Mailbox, templates: Templates) -> Self {
        Self {
            dir,
            from,
            templates,
        }
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn deliver(&self, mail: &MailRequest) -> Result<(), MailError> {
        let message = build(&self.from, mail, self.templates.render(mail)?)?;
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| {
            MailError::Transient(format!("cannot create {}: {e}", self.dir.display()))
        })?;
        let path = self.dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
        // The file holds a working reset link: readable by its owner only.
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let write = async {
            let mut file = options.open(&path).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &message.formatted()).await?;
            tokio::io::AsyncWriteExt::flush(&mut file).await
        };
        write
            .await
            .map_err(|e| MailError::Transient(format!("cannot write {}: {e}", path.display())))?;
        tracing::info!(path = %path.display(), "e-mail written to a file (no SMTP server configured)");
        Ok(())
    }
}
