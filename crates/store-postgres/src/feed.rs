//! The change feed and the audit trail: both append-only.

use crate::codec::{get, get_ts};
use crate::{PgStore, db_err};
use portcullis_core::audit::{AuditEvent, AuditFilter};
use portcullis_core::ids::{AppId, AuditId, SessionId, TenantId, UserId};
use portcullis_core::session::{Change, ChangeKind};
use portcullis_core::store::PoolState;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, query};
use uuid::Uuid;

/// Appends to the change feed inside the caller's transaction and announces it. The
/// advisory lock orders commits like sequence numbers (see the migration), and NOTIFY is
/// delivered at commit, so listeners never read ahead of the data.
pub(crate) async fn record_change(
    tx: &mut PgConnection,
    at: Timestamp,
    what: &ChangeKind,
) -> StoreResult<()> {
    let (kind, subject) = match what {
        ChangeKind::SessionRevoked(id) => ("session_revoked", Some(id.0)),
        ChangeKind::KeysChanged => ("keys_changed", None),
        ChangeKind::DirectoryChanged => ("directory_changed", None),
    };
    query("SELECT pg_advisory_xact_lock($1)")
        .bind(CHANGES_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    query("INSERT INTO changes (at, kind, subject) VALUES ($1, $2, $3)")
        .bind(at.0)
        .bind(kind)
        .bind(subject)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    query("SELECT pg_notify($1, $2)")
        .bind(crate::CHANNEL)
        .bind(kind)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Advisory lock key of the change feed ("portcull" in ASCII).
const CHANGES_LOCK: i64 = 0x706f_7274_6375_6c6c;

fn change_from(row: &PgRow) -> StoreResult<Change> {
    let kind: String = get(row, "kind")?;
    let what = match kind.as_str() {
        "session_revoked" => ChangeKind::SessionRevoked(SessionId(
            get::<Option<Uuid>>(row, "subject")?
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

fn audit_from(row: &PgRow) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: AuditId(get::<Uuid>(row, "id")?),
        at: get_ts(row, "at")?,
        tenant_id: get::<Option<Uuid>>(row, "tenant_id")?.map(TenantId),
        user_id: get::<Option<Uuid>>(row, "user_id")?.map(UserId),
        app_id: get::<Option<Uuid>>(row, "app_id")?.map(AppId),
        session_id: get::<Option<Uuid>>(row, "session_id")?.map(SessionId),
        action: get(row, "action")?,
        detail: get(row, "detail")?,
        ip: get(row, "ip")?,
    })
}

pub(crate) async fn insert_audit(conn: &mut PgConnection, e: &AuditEvent) -> StoreResult<()> {
    insert_audits(conn, &[e]).await
}

/// Several audit events in one statement (one array per column).
pub(crate) async fn insert_audits(
    conn: &mut PgConnection,
    events: &[&AuditEvent],
) -> StoreResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let q = query(
        "INSERT INTO audit_events (id, at, tenant_id, user_id, app_id, session_id, action, detail, ip)
         SELECT * FROM unnest($1::uuid[], $2::int8[], $3::uuid[], $4::uuid[], $5::uuid[],
                              $6::uuid[], $7::text[], $8::text[], $9::text[])",
    );
    bind_audit_columns(q, events)
        .execute(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Binds the nine columns of `audit_events`, in table order, as arrays (for `unnest`).
pub(crate) fn bind_audit_columns<'q>(
    q: Query<'q, Postgres, PgArguments>,
    events: &[&AuditEvent],
) -> Query<'q, Postgres, PgArguments> {
    let column =
        |f: fn(&AuditEvent) -> Option<Uuid>| events.iter().map(|e| f(e)).collect::<Vec<_>>();
    q.bind(events.iter().map(|e| e.id.0).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.at.0).collect::<Vec<_>>())
        .bind(column(|e| e.tenant_id.map(|v| v.0)))
        .bind(column(|e| e.user_id.map(|v| v.0)))
        .bind(column(|e| e.app_id.map(|v| v.0)))
        .bind(column(|e| e.session_id.map(|v| v.0)))
        .bind(events.iter().map(|e| e.action.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.detail.clone()).collect::<Vec<_>>())
        .bind(events.iter().map(|e| e.ip.clone()).collect::<Vec<_>>())
}

impl PgStore {
    pub(crate) async fn changes_after(
        &self,
        after: i64,
        not_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Change>> {
        let rows = query("SELECT * FROM changes WHERE seq > $1 AND at >= $2 ORDER BY seq LIMIT $3")
            .bind(after)
            .bind(not_before.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(change_from).collect()
    }

    pub(crate) async fn prune_changes(&self, before: Timestamp) -> StoreResult<u64> {
        let done = query("DELETE FROM changes WHERE at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn prune_audit(&self, before: Timestamp) -> StoreResult<u64> {
        let done = query("DELETE FROM audit_events WHERE at < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        insert_audit(&mut conn, e).await
    }

    pub(crate) async fn list_audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        let limit = if f.limit == 0 { 1000 } else { f.limit };
        let rows = query(
            "SELECT * FROM audit_events
             WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR user_id = $2)
               AND ($3::bigint IS NULL OR at >= $3) AND ($5::bigint IS NULL OR at < $5)
               AND ($6::text IS NULL OR action = $6 OR left(action, length($6) + 1) = $6 || '.')
               AND ($7::text IS NULL OR user_id IN (SELECT id FROM users WHERE kind = $7))
               AND ($8::uuid IS NULL OR (at, id) < (
                   SELECT c.at, c.id FROM audit_events c
                   WHERE c.id = $8 AND ($1::uuid IS NULL OR c.tenant_id = $1)))
             ORDER BY at DESC, id DESC LIMIT $4",
        )
        .bind(f.tenant_id.map(|v| v.0))
        .bind(f.user_id.map(|v| v.0))
        .bind(f.since.map(|t| t.0))
        .bind(i64::from(limit))
        .bind(f.until.map(|t| t.0))
        .bind(f.action.as_deref())
        .bind(f.user_kind.map(|k| k.as_str()))
        .bind(f.before.map(|v| v.0))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(audit_from).collect()
    }

    pub(crate) fn pool_state(&self) -> Vec<PoolState> {
        vec![PoolState {
            pool: "main",
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }]
    }

    pub(crate) async fn outbox_depth(&self) -> StoreResult<Vec<(&'static str, i64)>> {
        let row = query(
            "SELECT COALESCE(SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END), 0) AS pending,
                    COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS dead
             FROM outbox WHERE status != 'sent'",
        )
        .fetch_one(&self.pool)
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
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
            out.push((t, get(&row, "n")?));
        }
        Ok(out)
    }
}
