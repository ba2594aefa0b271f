//! Delivery through an SMTP server with lettre. The URL says how: `smtp://host:port` (plain),
//! `smtp://host:port?tls=required` (STARTTLS), `smtps://host:port` (TLS), with
//! `user:password@` for authentication.

use crate::{Templates, build};
use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use portcullis_core::outbox::{MailError, MailRequest, Mailer};
use std::time::Duration;

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    templates: Templates,
}

impl SmtpMailer {
    pub fn new(
        url: &str,
        from: Mailbox,
        timeout: Duration,
        templates: Templates,
    ) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("bad SMTP URL: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(Self {
            transport,
            from,
            templates,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn deliver(&self, mail: &MailRequest) -> Result<(), MailError> {
        let message = build(&self.from, mail, self.templates.render(mail)?)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Permanent(e.to_string())),
            // Refused connections, timeouts, 4xx answers: try again later.
            Err(e) => Err(MailError::Transient(e.to_string())),
        }
    }
}
