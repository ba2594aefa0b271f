//! Baskets, checkout and purchases: the Contact permission. A visitor without a token gets
//! a basket and the guest token that owns it; only that token (or, for a member's basket,
//! the member) may add to it or check it out; a purchase is read by its long id, plus the
//! member's token when a member bought it.

use crate::auth::{Authed, Json, MaybeAuthed, Path};
use crate::error::{ErrorBody, JrniError};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::Core;
use portcullis_core::basket::{Basket, Purchase};
use portcullis_core::ids::BasketId;
use portcullis_core::service::OpaqueGrant;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use utoipa::ToSchema;

type S = State<Arc<Core>>;

fn basket_json(b: &Basket) -> Value {
    json!({
        "id": b.id.to_string(), "company_id": b.company_id, "service_items": b.items,
        "_embedded": {"items": b.items},
        "_links": {"self": {"href": format!("/api/v5/baskets/{}", b.id)}},
    })
}

fn purchase_json(p: &Purchase, long_id: &str) -> Value {
    json!({
        "id": p.id.to_string(), "long_id": long_id, "company_id": p.company_id, "status": "confirmed",
        "items": p.items, "client": p.client, "created_at": p.created_at.to_rfc3339(),
    })
}

/// 201 with the body, and the new guest token in `Auth-Token` when one was made.
fn created(body: Value, new_token: Option<String>) -> Response {
    let mut resp = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Some(token) = new_token.and_then(|t| HeaderValue::from_str(&t).ok()) {
        resp.headers_mut().insert("auth-token", token);
        resp.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
    }
    resp
}

/// The basket a request works on: the token's, or a new guest basket without a token.
async fn basket_for(
    core: &Core,
    req: &MaybeAuthed,
    company_id: i64,
) -> Result<(Basket, Option<OpaqueGrant>, Option<String>), JrniError> {
    match &req.grant {
        Some(grant) => Ok((
            core.basket_of(grant, company_id).await?,
            Some(grant.clone()),
            None,
        )),
        None => {
            let (token, basket) = core
                .open_guest_basket(&req.app.app, company_id, &req.app.ctx)
                .await?;
            let grant = core.validate_opaque(&token).await?;
            Ok((basket, Some(grant), Some(token)))
        }
    }
}

fn item(body: Value) -> Result<Value, JrniError> {
    if body.is_object() {
        Ok(body)
    } else {
        Err(JrniError::bad_request("an item is a JSON object"))
    }
}

/// Add an item; without a token, a new basket and its guest token (in `Auth-Token`).
#[utoipa::path(post, path = "/api/v5/{company_id}/basket/add_item", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = Option<String>, Header), ("company_id" = i64, Path)),
    request_body(content = Object, description = "Item fields (service_id, date, time, …), kept as they are"),
    responses(
        (status = 201, description = "The basket; a new one carries its guest token in Auth-Token", body = Object),
        (status = 401, body = ErrorBody), (status = 404, description = "Unknown company", body = ErrorBody),
        (status = 409, description = "Checked out, or full", body = ErrorBody),
    ))]
pub async fn add_item(
    State(core): S,
    req: MaybeAuthed,
    Path(company_id): Path<i64>,
    Json(body): Json<Value>,
) -> Result<Response, JrniError> {
    let item = item(body)?;
    let (basket, _, new_token) = basket_for(&core, &req, company_id).await?;
    let basket = core.add_basket_item(&basket, item).await?;
    Ok(created(basket_json(&basket), new_token))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CheckoutRequest {
    /// Client details, kept as they are.
    #[schema(value_type = Object)]
    client: Option<Value>,
}

/// Check out the token's basket in a company: a purchase with its long id.
#[utoipa::path(post, path = "/api/v5/{company_id}/basket/checkout", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = String, Header), ("company_id" = i64, Path)),
    request_body = CheckoutRequest,
    responses((status = 201, description = "The purchase, with its long_id", body = Object), (status = 401, body = ErrorBody), (status = 404, description = "Unknown company", body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn checkout(
    State(core): S,
    authed: Authed,
    Path(company_id): Path<i64>,
    Json(body): Json<CheckoutRequest>,
) -> Result<Response, JrniError> {
    let basket = core.basket_of(&authed.grant, company_id).await?;
    let (long_id, purchase) = core
        .checkout(&authed.grant, &basket, body.client.unwrap_or(Value::Null))
        .await?;
    Ok(created(purchase_json(&purchase, &long_id), None))
}

#[derive(Deserialize, ToSchema)]
pub struct NewBasket {
    company_id: Option<i64>,
}

/// Create a basket (newer API); without a token, with a new guest token.
#[utoipa::path(post, path = "/api/v5/baskets", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = Option<String>, Header)),
    request_body = NewBasket,
    responses((status = 201, description = "The basket", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn create_basket(
    State(core): S,
    req: MaybeAuthed,
    Json(body): Json<NewBasket>,
) -> Result<Response, JrniError> {
    let company_id = body
        .company_id
        .ok_or_else(|| JrniError::bad_request("company_id is required"))?;
    let (basket, _, new_token) = basket_for(&core, &req, company_id).await?;
    Ok(created(basket_json(&basket), new_token))
}

fn basket_id(id: &str) -> Result<BasketId, JrniError> {
    BasketId::parse(id).ok_or_else(JrniError::not_found)
}

/// Add an item to a basket the token owns (newer API).
#[utoipa::path(post, path = "/api/v5/baskets/{basket_id}/service_items", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = String, Header), ("basket_id" = String, Path)),
    request_body(content = Object, description = "Item fields"),
    responses((status = 201, description = "The basket", body = Object), (status = 401, body = ErrorBody), (status = 403, description = "Another's basket", body = ErrorBody), (status = 404, description = "Unknown basket", body = ErrorBody)))]
pub async fn add_service_item(
    State(core): S,
    authed: Authed,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Response, JrniError> {
    let item = item(body)?;
    let basket = core.owned_basket(&authed.grant, basket_id(&id)?).await?;
    let basket = core.add_basket_item(&basket, item).await?;
    Ok(created(basket_json(&basket), None))
}

/// Check out a basket the token owns (newer API).
#[utoipa::path(post, path = "/api/v5/baskets/{basket_id}/checkout", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = String, Header), ("basket_id" = String, Path)),
    request_body = CheckoutRequest,
    responses((status = 201, description = "The purchase", body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "Unknown basket", body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn checkout_basket(
    State(core): S,
    authed: Authed,
    Path(id): Path<String>,
    Json(body): Json<CheckoutRequest>,
) -> Result<Response, JrniError> {
    let basket = core.owned_basket(&authed.grant, basket_id(&id)?).await?;
    let (long_id, purchase) = core
        .checkout(&authed.grant, &basket, body.client.unwrap_or(Value::Null))
        .await?;
    Ok(created(purchase_json(&purchase, &long_id), None))
}

/// A purchase by its long id; a member's purchase also needs that member's token.
#[utoipa::path(get, path = "/api/v5/purchases/{long_id}", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = Option<String>, Header), ("long_id" = String, Path)),
    responses((status = 200, description = "The purchase", body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn purchase(
    State(core): S,
    req: MaybeAuthed,
    Path(long_id): Path<String>,
) -> Result<axum::Json<Value>, JrniError> {
    let purchase = core
        .purchase(&req.app.app, &long_id, req.grant.as_ref())
        .await?;
    Ok(axum::Json(purchase_json(&purchase, &long_id)))
}
