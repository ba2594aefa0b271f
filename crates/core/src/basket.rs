//! Baskets and purchases, kept only as far as authentication needs them (JRNI's Contact
//! permission): who may add to a basket, who may read a purchase. Items are opaque JSON:
//! Portcullis guards baskets, it does not price them.

use crate::clock::Timestamp;
use crate::ids::{BasketId, PurchaseId, SessionId, TenantId, UserId};
use crate::secret::SecretHash;

/// Most items one basket holds.
pub const MAX_ITEMS: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub struct Basket {
    pub id: BasketId,
    pub tenant_id: TenantId,
    pub company_id: i64,
    /// The session whose token owns the basket (a guest's, or a member's).
    pub session_id: SessionId,
    /// The member, for a member's basket.
    pub user_id: Option<UserId>,
    pub items: Vec<serde_json::Value>,
    pub created_at: Timestamp,
    pub checked_out_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Purchase {
    pub id: PurchaseId,
    /// SHA-256 of the long id: the long id itself is a capability and is not stored.
    pub long_id_hash: SecretHash,
    pub tenant_id: TenantId,
    pub company_id: i64,
    pub basket_id: BasketId,
    /// The member who bought, if one did; their token is then needed to read it.
    pub user_id: Option<UserId>,
    pub items: Vec<serde_json::Value>,
    pub client: serde_json::Value,
    pub created_at: Timestamp,
}
