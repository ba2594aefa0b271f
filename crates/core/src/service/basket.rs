//! Baskets and purchases for JRNI: guest (Contact) tokens, basket ownership, checkout, and
//! reading a purchase by its long id.

use super::Core;
use super::login::Subject;
use super::opaque::OpaqueGrant;
use crate::app::ClientApp;
use crate::audit::RequestContext;
use crate::basket::{Basket, MAX_ITEMS, Purchase};
use crate::error::{CoreError, CoreResult};
use crate::ids::{BasketId, PurchaseId};
use crate::secret::{self, SecretHash};
use crate::user::UserKind;

/// A basket token's role.
pub const CONTACT: &str = "contact";

fn not_yours() -> CoreError {
    CoreError::Forbidden("this basket belongs to someone else".into())
}

impl Core {
    /// The store of a JRNI company of the app's tenant.
    fn company_store(
        &self,
        app: &ClientApp,
        company_id: i64,
    ) -> CoreResult<crate::tenant::Storefront> {
        self.directory()
            .store_by_company(app.tenant_id, company_id)
            .cloned()
            .ok_or(CoreError::NotFound("company"))
    }

    /// A new basket for a visitor without a token, with the guest (Contact) token that owns
    /// it; the token ends after the tenant's `guest_idle_ttl` of inactivity.
    pub async fn open_guest_basket(
        &self,
        app: &ClientApp,
        company_id: i64,
        ctx: &RequestContext,
    ) -> CoreResult<(String, Basket)> {
        let store = self.company_store(app, company_id)?;
        let tenant = self.tenant(app.tenant_id)?;
        let subject = Subject {
            tenant: &tenant,
            app,
            user: None,
            profiles: Vec::new(),
            opts: Default::default(),
        };
        let idle = tenant.tokens.guest_idle_ttl;
        let basket_id = BasketId::new();
        let (token, session, record) =
            self.new_opaque_session(&subject, Some(&store), CONTACT, idle, ctx)?;
        let mut session = session;
        session.kind = Some(UserKind::Guest);
        let basket = Basket {
            id: basket_id,
            tenant_id: tenant.id,
            company_id,
            session_id: session.id,
            user_id: None,
            items: Vec::new(),
            created_at: self.now(),
            checked_out_at: None,
        };
        self.store
            .create_basket(&basket, Some((&session, &record)))
            .await?;
        self.remember_opaque(record, session);
        Ok((token, basket))
    }

    /// The open basket of a token's session, created for a member on first use.
    pub async fn basket_of(&self, grant: &OpaqueGrant, company_id: i64) -> CoreResult<Basket> {
        if self
            .directory()
            .store_by_company(grant.session.tenant_id, company_id)
            .is_none()
        {
            return Err(CoreError::NotFound("company"));
        }
        if let Some(b) = self.store.find_open_basket(grant.session.id).await? {
            if b.company_id != company_id {
                return Err(not_yours());
            }
            return Ok(b);
        }
        if grant.record.role == CONTACT {
            // A guest token names exactly one basket; once checked out there is no other.
            return Err(CoreError::Forbidden("this token's basket is closed".into()));
        }
        let basket = Basket {
            id: BasketId::new(),
            tenant_id: grant.session.tenant_id,
            company_id,
            session_id: grant.session.id,
            user_id: grant.session.user_id,
            items: Vec::new(),
            created_at: self.now(),
            checked_out_at: None,
        };
        self.store.create_basket(&basket, None).await?;
        Ok(basket)
    }

    /// A basket the token may use: its own session's, or (for a member) one of theirs.
    pub async fn owned_basket(&self, grant: &OpaqueGrant, id: BasketId) -> CoreResult<Basket> {
        let basket = self
            .store
            .get_basket(id)
            .await?
            .ok_or(CoreError::NotFound("basket"))?;
        let same_session = basket.session_id == grant.session.id;
        let same_member = basket.user_id.is_some() && basket.user_id == grant.session.user_id;
        if basket.tenant_id != grant.session.tenant_id || !(same_session || same_member) {
            return Err(not_yours());
        }
        Ok(basket)
    }

    /// Adds an item (opaque JSON) to a basket the caller got from `basket_of` or
    /// `owned_basket`, which checked the token.
    pub async fn add_basket_item(
        &self,
        basket: &Basket,
        item: serde_json::Value,
    ) -> CoreResult<Basket> {
        if basket.checked_out_at.is_some() {
            return Err(CoreError::Conflict("the basket is checked out".into()));
        }
        if basket.items.len() >= MAX_ITEMS {
            return Err(CoreError::Conflict(format!(
                "a basket holds at most {MAX_ITEMS} items"
            )));
        }
        self.store
            .add_basket_item(basket.id, &item, self.now())
            .await?
            .ok_or_else(|| CoreError::Conflict("the basket is checked out".into()))
    }

    /// Turns a basket the token owns into a purchase; returns the purchase's long id, the
    /// capability that reads it later (only its hash is kept).
    pub async fn checkout(
        &self,
        grant: &OpaqueGrant,
        basket: &Basket,
        client: serde_json::Value,
    ) -> CoreResult<(String, Purchase)> {
        if basket.checked_out_at.is_some() {
            return Err(CoreError::Conflict(
                "the basket is already checked out".into(),
            ));
        }
        let long_id = secret::random_token(24); // 192 bits
        let purchase = Purchase {
            id: PurchaseId::new(),
            long_id_hash: SecretHash::of(&long_id),
            tenant_id: basket.tenant_id,
            company_id: basket.company_id,
            basket_id: basket.id,
            user_id: grant.session.user_id,
            items: basket.items.clone(),
            client,
            created_at: self.now(),
        };
        if !self.store.checkout_basket(basket.id, &purchase).await? {
            return Err(CoreError::Conflict(
                "the basket is already checked out".into(),
            ));
        }
        Ok((long_id, purchase))
    }

    /// A purchase by its long id. A guest's purchase needs nothing more; a member's needs
    /// that member's token.
    pub async fn purchase(
        &self,
        app: &ClientApp,
        long_id: &str,
        grant: Option<&OpaqueGrant>,
    ) -> CoreResult<Purchase> {
        if long_id.is_empty() || long_id.len() > 128 {
            return Err(CoreError::NotFound("purchase"));
        }
        let purchase = self.store.find_purchase(&SecretHash::of(long_id)).await?;
        let purchase = purchase
            .filter(|p| p.tenant_id == app.tenant_id)
            .ok_or(CoreError::NotFound("purchase"))?;
        if let Some(owner) = purchase.user_id {
            let grant = grant.ok_or(CoreError::InvalidToken(
                "this purchase needs its member's token",
            ))?;
            if grant.session.user_id != Some(owner) {
                return Err(CoreError::Forbidden(
                    "this purchase belongs to another member".into(),
                ));
            }
        }
        Ok(purchase)
    }
}
