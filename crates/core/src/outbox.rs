//! The transactional outbox: e-mails are written in the same transaction as the change that
//! causes them (a reset token), then delivered by a worker with retries. The message content
//! is sealed at rest, since it carries a secret link; only its address and state are clear.

use crate::clock::Timestamp;
use crate::ids::{MessageId, TenantId};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    Sent,
    /// Failed too often (or permanently); kept for an operator to retry or purge.
    Dead,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(OutboxStatus::Pending),
            "sent" => Some(OutboxStatus::Sent),
            "dead" => Some(OutboxStatus::Dead),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: MessageId,
    pub tenant_id: TenantId,
    /// Recipient address, lower-cased (also used to throttle).
    pub to: String,
    /// What the message is: `password_reset`.
    pub kind: String,
    /// A sealed `MailRequest`; dropped once sent.
    pub payload: Option<Vec<u8>>,
    pub status: OutboxStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    /// While set and in the future, a worker owns the message.
    pub lease_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How a delivery attempt ended, as recorded by `Store::finish_outbox`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxOutcome {
    Sent { at: Timestamp },
    Retry { at: Timestamp, error: String },
    Dead { error: String },
}

#[derive(Clone, Debug, Default)]
pub struct OutboxFilter {
    pub status: Option<OutboxStatus>,
    pub limit: u32,
}

/// What to send: a template and its values. Rendering belongs to the mail adapter.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailRequest {
    /// Template name: `password_reset`.
    pub template: String,
    /// Tenant slug, to pick the tenant's templates.
    pub tenant: String,
    pub locale: String,
    pub to: String,
    pub vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for MailRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The values hold the secret link: never print them.
        f.debug_struct("MailRequest")
            .field("template", &self.template)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: connection refused, timeout, 4xx.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying will not help: 5xx, bad address, missing template.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// The port to the mail system (SMTP, or files for development).
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn deliver(&self, mail: &MailRequest) -> Result<(), MailError>;
}

/// Retry policy of the outbox worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// Attempts before a message is dead.
    pub max_attempts: u32,
    /// Delay after the first failure; doubled after each further one.
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// How long a worker owns a message it is sending; another may take it after.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_base: Duration::from_secs(5),
            retry_max: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
        }
    }
}

impl OutboxSettings {
    /// Delay before the next attempt after `attempts` failed ones.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.retry_base.saturating_mul(factor).min(self.retry_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = OutboxSettings {
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(10),
            ..Default::default()
        };
        let delays: Vec<u64> = (1..=6).map(|a| s.backoff(a).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 10, 10]);
    }
}
