//! Audit events: who did what, when, from where. Reasons for failures are kept here, never
//! in answers to clients.

use crate::clock::Timestamp;
use crate::ids::{AppId, AuditId, SessionId, TenantId, UserId};
use crate::user::UserKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: AuditId,
    pub at: Timestamp,
    pub tenant_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    pub app_id: Option<AppId>,
    pub session_id: Option<SessionId>,
    /// Stable event name: `login.succeeded`, `login.failed`, `refresh.reused`, ...
    pub action: String,
    /// Internal detail (failure reason, actor of an admin change). Never a secret.
    pub detail: String,
    pub ip: Option<String>,
}

/// Where a request came from, for audit and limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Filters for listing audit events.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub tenant_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    /// Events of users of this kind.
    pub user_kind: Option<UserKind>,
    /// An action (`login.failed`) or a family of them (`login`: `login.*`).
    pub action: Option<String>,
    pub since: Option<Timestamp>,
    /// Events strictly before this time.
    pub until: Option<Timestamp>,
    /// Events listed after this one (newest first, by time then id): the page that follows
    /// a page ending with it. Events of one instant are not split or repeated across pages,
    /// as they can be by `until`. An id that names no event (of `tenant_id`, when set)
    /// gives none.
    pub before: Option<AuditId>,
    /// At most this many, newest first; 0 means 1000.
    pub limit: u32,
}
