//! The administrator and member resources, guarded by JRNI's permission types: an
//! administrator reads administrators of their own company; a member reads only themselves;
//! an administrator of the company reads its members.

use crate::auth::{Authed, Path};
use crate::error::{ErrorBody, JrniError};
use crate::session::{person, session_company};
use axum::extract::State;
use portcullis_core::Core;
use portcullis_core::user::{User, UserKind};
use std::sync::Arc;

type S = State<Arc<Core>>;

/// The user `id` of the app's tenant and of `kind`; 404 otherwise (also for ids of other
/// tenants, which this tenant's callers must not learn about).
async fn find(core: &Core, authed: &Authed, id: i64, kind: UserKind) -> Result<User, JrniError> {
    core.user_by_number(authed.app.tenant_id, kind, id)
        .await?
        .ok_or_else(JrniError::not_found)
}

fn is_admin_of(core: &Core, authed: &Authed, company_id: i64) -> bool {
    authed.grant.record.role == "admin"
        && session_company(core, &authed.grant.session) == Some(company_id)
}

/// An administrator of the company (Admin permission, that company).
#[utoipa::path(get, path = "/api/v5/{company_id}/administrators/{id}", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = String, Header), ("company_id" = i64, Path), ("id" = i64, Path)),
    responses(
        (status = 200, description = "The administrator", body = Object),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not an administrator of this company", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn administrator(
    State(core): S,
    authed: Authed,
    Path((company_id, id)): Path<(i64, i64)>,
) -> Result<axum::Json<serde_json::Value>, JrniError> {
    if !is_admin_of(&core, &authed, company_id) {
        return Err(JrniError::forbidden());
    }
    let admin = find(&core, &authed, id, UserKind::Operator).await?;
    let company_of_admin = admin.store_id.and_then(|s| {
        core.directory()
            .store(admin.tenant_id, s)
            .and_then(|s| s.company_id)
    });
    if company_of_admin.is_some_and(|c| c != company_id) {
        return Err(JrniError::not_found());
    }
    Ok(axum::Json(person(&core, &admin, Some(company_id)).await?))
}

/// A member: the member themselves, or an administrator of the company (Member / Admin).
#[utoipa::path(get, path = "/api/v5/{company_id}/members/{id}", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = String, Header), ("company_id" = i64, Path), ("id" = i64, Path)),
    responses(
        (status = 200, description = "The member", body = Object),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Another member, or an administrator of another company", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn member(
    State(core): S,
    authed: Authed,
    Path((company_id, id)): Path<(i64, i64)>,
) -> Result<axum::Json<serde_json::Value>, JrniError> {
    let member = find(&core, &authed, id, UserKind::Customer).await;
    let own = authed.grant.record.role == "member"
        && member
            .as_ref()
            .is_ok_and(|m| authed.grant.session.user_id == Some(m.id));
    if !own && !is_admin_of(&core, &authed, company_id) {
        return Err(JrniError::forbidden());
    }
    let member = member?;
    Ok(axum::Json(person(&core, &member, Some(company_id)).await?))
}
