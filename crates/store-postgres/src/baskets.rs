//! JRNI baskets and purchases.

use crate::codec::{get, get_opt_ts, get_ts};
use crate::opaque::insert_opaque;
use crate::sessions::insert_session;
use crate::{PgStore, db_err};
use portcullis_core::basket::{Basket, Purchase};
use portcullis_core::ids::{BasketId, PurchaseId, SessionId, TenantId, UserId};
use portcullis_core::opaque::OpaqueRecord;
use portcullis_core::secret::SecretHash;
use portcullis_core::session::Session;
use portcullis_core::{StoreError, StoreResult, Timestamp};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, query};

fn json_col<T: serde::de::DeserializeOwned>(row: &PgRow, col: &str) -> StoreResult<T> {
    let v: serde_json::Value = get(row, col)?;
    serde_json::from_value(v).map_err(|e| StoreError::Internal(format!("column {col}: {e}")))
}

fn basket_from(row: &PgRow) -> StoreResult<Basket> {
    Ok(Basket {
        id: BasketId(get::<uuid::Uuid>(row, "id")?),
        tenant_id: TenantId(get::<uuid::Uuid>(row, "tenant_id")?),
        company_id: get(row, "company_id")?,
        session_id: SessionId(get::<uuid::Uuid>(row, "session_id")?),
        user_id: get::<Option<uuid::Uuid>>(row, "user_id")?.map(UserId),
        items: json_col(row, "items")?,
        created_at: get_ts(row, "created_at")?,
        checked_out_at: get_opt_ts(row, "checked_out_at")?,
    })
}

fn purchase_from(row: &PgRow) -> StoreResult<Purchase> {
    let hash: Vec<u8> = get(row, "long_id_hash")?;
    Ok(Purchase {
        id: PurchaseId(get::<uuid::Uuid>(row, "id")?),
        long_id_hash: SecretHash::from_slice(&hash)
            .ok_or_else(|| StoreError::Internal("bad long id hash".into()))?,
        tenant_id: TenantId(get::<uuid::Uuid>(row, "tenant_id")?),
        company_id: get(row, "company_id")?,
        basket_id: BasketId(get::<uuid::Uuid>(row, "basket_id")?),
        user_id: get::<Option<uuid::Uuid>>(row, "user_id")?.map(UserId),
        items: json_col(row, "items")?,
        client: json_col(row, "client")?,
        created_at: get_ts(row, "created_at")?,
    })
}

fn text<T: serde::Serialize>(v: &T) -> StoreResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| StoreError::Internal(format!("encoding column: {e}")))
}

pub(crate) async fn insert_basket(tx: &mut PgConnection, b: &Basket) -> StoreResult<()> {
    query(
        "INSERT INTO baskets (id, tenant_id, company_id, session_id, user_id, items, created_at, checked_out_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(b.id.0)
    .bind(b.tenant_id.0)
    .bind(b.company_id)
    .bind(b.session_id.0)
    .bind(b.user_id.map(|u| u.0))
    .bind(text(&b.items)?)
    .bind(b.created_at.0)
    .bind(b.checked_out_at.map(|t| t.0))
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn insert_purchase(tx: &mut PgConnection, p: &Purchase) -> StoreResult<()> {
    query(
        "INSERT INTO purchases (id, long_id_hash, tenant_id, company_id, basket_id, user_id, items, client, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(p.id.0)
    .bind(p.long_id_hash.as_bytes().as_slice())
    .bind(p.tenant_id.0)
    .bind(p.company_id)
    .bind(p.basket_id.0)
    .bind(p.user_id.map(|u| u.0))
    .bind(text(&p.items)?)
    .bind(text(&p.client)?)
    .bind(p.created_at.0)
    .execute(tx)
    .await
    .map_err(db_err)?;
    Ok(())
}

impl PgStore {
    pub(crate) async fn create_basket(
        &self,
        b: &Basket,
        guest: Option<(&Session, &OpaqueRecord)>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if let Some((session, token)) = guest {
            insert_session(&mut tx, session).await?;
            insert_opaque(&mut tx, token).await?;
        }
        insert_basket(&mut tx, b).await?;
        tx.commit().await.map_err(db_err)
    }

    pub(crate) async fn list_baskets(&self, tenant: TenantId) -> StoreResult<Vec<Basket>> {
        let rows = query("SELECT * FROM baskets WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(basket_from).collect()
    }

    pub(crate) async fn list_purchases(&self, tenant: TenantId) -> StoreResult<Vec<Purchase>> {
        let rows = query("SELECT * FROM purchases WHERE tenant_id = $1 ORDER BY created_at, id")
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(purchase_from).collect()
    }

    pub(crate) async fn get_basket(&self, id: BasketId) -> StoreResult<Option<Basket>> {
        let row = query("SELECT * FROM baskets WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(basket_from).transpose()
    }

    pub(crate) async fn find_open_basket(&self, session: SessionId) -> StoreResult<Option<Basket>> {
        let row = query("SELECT * FROM baskets WHERE session_id = $1 AND checked_out_at IS NULL ORDER BY created_at LIMIT 1")
            .bind(session.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(basket_from).transpose()
    }

    pub(crate) async fn add_basket_item(
        &self,
        id: BasketId,
        item: &serde_json::Value,
        _at: Timestamp,
    ) -> StoreResult<Option<Basket>> {
        let mut tx = self.begin().await?;
        let row =
            query("SELECT * FROM baskets WHERE id = $1 AND checked_out_at IS NULL FOR UPDATE")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let mut basket = basket_from(&row)?;
        basket.items.push(item.clone());
        query("UPDATE baskets SET items = $1 WHERE id = $2")
            .bind(text(&basket.items)?)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(basket))
    }

    pub(crate) async fn checkout_basket(&self, id: BasketId, p: &Purchase) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let done = query(
            "UPDATE baskets SET checked_out_at = $1 WHERE id = $2 AND checked_out_at IS NULL",
        )
        .bind(p.created_at.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_purchase(&mut tx, p).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    pub(crate) async fn find_purchase(&self, hash: &SecretHash) -> StoreResult<Option<Purchase>> {
        let row = query("SELECT * FROM purchases WHERE long_id_hash = $1")
            .bind(hash.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(purchase_from).transpose()
    }
}
