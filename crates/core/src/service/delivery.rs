//! The outbox worker: takes due messages under a lease, hands them to the mailer, and
//! records the outcome with exponential backoff and a dead-letter state.

use super::Core;
use super::password::OUTBOX_PURPOSE;
use crate::error::CoreResult;
use crate::ids::MessageId;
use crate::outbox::{MailError, MailRequest, Mailer, OutboxFilter, OutboxMessage, OutboxOutcome};
use crate::secret;

/// Messages taken per claim. One at a time, so each is sent well within its own lease and a
/// slow SMTP exchange cannot make another worker's lease expire on messages still queued here.
const BATCH: u32 = 1;

impl Core {
    /// Delivers every message that is due now. Returns how many were attempted.
    pub async fn deliver_outbox(&self, mailer: &dyn Mailer) -> CoreResult<usize> {
        let mut attempted = 0;
        loop {
            let now = self.now();
            let lease_until = now.plus(self.settings.outbox.lease);
            let batch = self.store.claim_outbox(now, lease_until, BATCH).await?;
            if batch.is_empty() {
                return Ok(attempted);
            }
            for message in batch {
                attempted += 1;
                let outcome = self.attempt(mailer, &message).await;
                let result = match &outcome {
                    OutboxOutcome::Sent { .. } => "sent",
                    OutboxOutcome::Retry { .. } => "retry",
                    OutboxOutcome::Dead { .. } => "dead",
                };
                metrics::counter!("portcullis_outbox_attempts_total", "result" => result)
                    .increment(1);
                match &outcome {
                    OutboxOutcome::Sent { .. } => {
                        tracing::info!(id = %message.id, kind = %message.kind, "e-mail delivered")
                    }
                    OutboxOutcome::Retry { error, .. } => {
                        tracing::warn!(id = %message.id, attempts = message.attempts, %error, "e-mail delivery failed; will retry")
                    }
                    OutboxOutcome::Dead { error } => {
                        tracing::error!(id = %message.id, attempts = message.attempts, %error, "e-mail delivery gave up")
                    }
                }
                self.store.finish_outbox(message.id, &outcome).await?;
            }
        }
    }

    async fn attempt(&self, mailer: &dyn Mailer, message: &OutboxMessage) -> OutboxOutcome {
        let Some(mail) = self.open_payload(message) else {
            return OutboxOutcome::Dead {
                error: "the message content cannot be read (master key changed?)".into(),
            };
        };
        match mailer.deliver(&mail).await {
            Ok(()) => OutboxOutcome::Sent { at: self.now() },
            Err(MailError::Permanent(error)) => OutboxOutcome::Dead { error },
            Err(MailError::Transient(error))
                if message.attempts >= self.settings.outbox.max_attempts =>
            {
                OutboxOutcome::Dead { error }
            }
            Err(MailError::Transient(error)) => OutboxOutcome::Retry {
                at: self
                    .now()
                    .plus(self.settings.outbox.backoff(message.attempts)),
                error,
            },
        }
    }

    fn open_payload(&self, message: &OutboxMessage) -> Option<MailRequest> {
        let sealed = message.payload.as_ref()?;
        let plain = secret::open(
            &self.master.purpose_key(OUTBOX_PURPOSE),
            message.id.0.as_bytes(),
            sealed,
        )
        .ok()?;
        serde_json::from_slice(&plain).ok()
    }

    pub async fn list_outbox(&self, filter: &OutboxFilter) -> CoreResult<Vec<OutboxMessage>> {
        Ok(self.store.list_outbox(filter).await?)
    }

    /// Makes a dead or pending message due now, with a fresh count of attempts.
    pub async fn retry_outbox(&self, id: MessageId) -> CoreResult<()> {
        if self.store.retry_outbox(id, self.now()).await? {
            self.outbox_signal.notify_one();
            Ok(())
        } else {
            Err(crate::error::CoreError::NotFound("unsent message"))
        }
    }

    /// Deletes sent and dead messages older than `age`.
    pub async fn purge_outbox(&self, age: std::time::Duration) -> CoreResult<u64> {
        Ok(self.store.purge_outbox(self.now().minus(age)).await?)
    }
}
