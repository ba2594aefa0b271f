//! The change feed and the audit trail: both append-only.

use crate::codec::{get, get_opt_uuid, get_ts, get_uuid};
use crate::{SqliteStore, db_err, padded};
use portcullis_core::audit::{AuditEvent, AuditFilter};
use portcullis_core::ids::{AppId, AuditId, SessionId, TenantId, UserId};
use portcullis_core::session::{Change, ChangeKind};
use portcullis_core::store::PoolState;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::sqlite::SqliteRow;
use sqlx::{SqliteConnection, query};

pub(crate) async fn record_change(
    tx: &mut SqliteConnection,
    at: Timestamp,
    what: &ChangeKind,
) -> StoreResult<()> {
    let (kind, subject) = match what {
        ChangeKind::SessionRevoked(id) => ("session_revoked", Some(id.0.to_string())),
        ChangeKind::KeysChanged => ("keys_changed", None),
        ChangeKind::DirectoryChanged => ("directory_changed", None),
    };
    query("INSERT INTO changes (at, kind, subject) VALUES (?, ?, ?)")
        .bind(at.0)
        .bind(kind)
        .bind(subject)
        .execute(tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

fn change_from(row: &SqliteRow) -> StoreResult<Change> {
    let kind: String = get(row, "kind")?;
    let what = match kind.as_str() {
        "session_revoked" => ChangeKind::SessionRevoked(SessionId(
            get_opt_uuid(row, "subject")?
                .ok_or_else(|| StoreError::Internal("change without subject".into()))?,
        )),
        "keys_changed" => ChangeKind::KeysChanged,
        "directory_changed" => ChangeKind::DirectoryChanged,
        other => return Err(StoreError::Internal(format!("unknown change kind {other}"))),
    };
    Ok(Change {
        seq: get(row, "seq")?,
        at: get_ts(row, "at")?,
        what,
    })
}

fn audit_from(row: &SqliteRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: AuditId(get_uuid(row, "id")?),
        at: get_ts(row, "at")?,
        tenant_id: get_opt_uuid(row, "tenant_id")?.map(TenantId),
        user_id: get_opt_uuid(row, "user_id")?.map(UserId),
        app_id: get_opt_uuid(row, "app_id")?.map(AppId),
        session_id: get_opt_uuid(row, "session_id")?.map(SessionId),
        action: get(row, "action")?,
        detail: get(row, "detail")?,
        ip: get(row, "ip")?,
    })
}

pub(crate) async fn insert_audit(conn: &mut SqliteConnection, e: &AuditEvent) -> StoreResult<()> {
    insert_audits(conn, &[e]).await
}

/// Several audit events in one statement.
pub(crate) async fn insert_audits(
    conn: &mut SqliteConnection,
    events: &[&AuditEvent],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = padded::rows(events.len());
    let sql = insert_audits_sql(rows);
    bind_audits(query(&sql), events, rows)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

const AUDIT_COLUMNS: usize = 9;

/// Inserts `rows` audit events, bound by `bind_audits` (padded, see `padded`).
pub(crate) fn insert_audits_sql(rows: usize) -> String {
    format!(
        "INSERT INTO audit_events (id, at, tenant_id, user_id, app_id, session_id, action, detail, ip)
         SELECT * FROM (VALUES {}) WHERE column1 IS NOT NULL",
        padded::values(rows, AUDIT_COLUMNS)
    )
}

pub(crate) fn bind_audits<'q>(
    mut q: padded::Query<'q>,
    events: &[&'q AuditEvent],
    rows: usize,
) -> padded::Query<'q> {
    for e in events {
        q = q
            .bind(e.id.0.to_string())
            .bind(e.at.0)
            .bind(e.tenant_id.map(|v| v.0.to_string()))
            .bind(e.user_id.map(|v| v.0.to_string()))
            .bind(e.app_id.map(|v| v.0.to_string()))
            .bind(e.session_id.map(|v| v.0.to_string()))
            .bind(e.action.as_str())
            .bind(e.detail.as_str())
            .bind(e.ip.as_deref());
    }
    padded::pad(q, events.len(), rows, AUDIT_COLUMNS)
}

impl SqliteStore {
    pub(crate) async fn changes_after(
        &self,
        after: i64,
        not_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Change>> {
        let rows = query("SELECT * FROM changes WHERE seq > ? AND at >= ? ORDER BY seq LIMIT ?")
            .bind(after)
            .bind(not_before.0)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await
            .map_err(db_err)?;
        rows.iter().map(change_from).collect()
    }

    pub(crate) async fn prune_changes(&self, before: Timestamp) -> StoreResult<u64> {
        let done = query("DELETE FROM changes WHERE at < ?")
            .bind(before.0)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        let done = query("DELETE FROM audit_events WHERE at < ?")
            .bind(before.0)
            .execute(&self.write)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        let mut conn = self.write.acquire().await.map_err(db_err)?;
        insert_audit(&mut conn, e).await
    }

    pub(crate) async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        let limit = if f.limit == 0 { 1000 } else { f.limit };
        let rows = query(
            "SELECT * FROM audit_events
             WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 IS NULL OR user_id = ?2)
               AND (?3 IS NULL OR at >= ?3) AND (?5 IS NULL OR at < ?5)
               AND (?6 IS NULL OR action = ?6 OR substr(action, 1, length(?6) + 1) = ?6 || '.')
               AND (?7 IS NULL OR user_id IN (SELECT id FROM users WHERE kind = ?7))
               AND (?8 IS NULL OR (at, id) < (
                   SELECT c.at, c.id FROM audit_events c
                   WHERE c.id = ?8 AND (?1 IS NULL OR c.tenant_id = ?1)))
             ORDER BY at DESC, id DESC LIMIT ?4",
        )
        .bind(f.tenant_id.map(|v| v.0.to_string()))
        .bind(f.user_id.map(|v| v.0.to_string()))
        .bind(f.since.map(|t| t.0))
        .bind(i64::from(limit))
        .bind(f.until.map(|t| t.0))
        .bind(f.action.as_deref())
        .bind(f.user_kind.map(|k| k.as_str()))
        .bind(f.before.map(|v| v.0.to_string()))
        .fetch_all(&self.read)
        .await
        .map_err(db_err)?;
        rows.iter().map(audit_from).collect()
    }

    pub(crate) fn pool_state(&self) -> Vec<PoolState> {
        [("read", &self.read), ("write", &self.write)]
            .into_iter()
            .map(|(pool, p)| PoolState {
                pool,
                open: p.size(),
                idle: u32::try_from(p.num_idle()).unwrap_or(u32::MAX),
                max: p.options().get_max_connections(),
            })
            .collect()
    }

    pub(crate) async fn outbox_depth(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        let row = query(
            "SELECT COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending,
                    COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS dead
             FROM outbox WHERE status != 'sent'",
        )
        .fetch_one(&self.read)
        .await
        .map_err(db_err)?;
        Ok(vec![
            ("pending", get(&row, "pending")?),
            ("dead", get(&row, "dead")?),
        ])
    }

    pub(crate) async fn counts(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        const TABLES: [&str; 15] = [
            "tenants",
            "storefronts",
            "apps",
            "users",
            "profiles",
            "user_profiles",
            "sessions",
            "refresh_tokens",
            "opaque_tokens",
            "signing_keys",
            "audit_events",
            "user_numbers",
            "devices",
            "baskets",
            "purchases",
        ];
        let mut out = Vec::with_capacity(TABLES.len());
        for t in TABLES {
            // Table names come from the constant list above, never from input.
            let row = query(&format!("SELECT COUNT(*) AS n FROM {t}"))
                .fetch_one(&self.read)
                .await
                .map_err(db_err)?;
            out.push((t, get(&row, "n")?));
        }
        Ok(out)
    }
}
