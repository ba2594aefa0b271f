//! The admin API: a tenant's profiles and who has them. Guarded by the rights engine itself:
//! the caller is an operator of the tenant whose profiles allow the admin route, e.g. a
//! profile with `{ route = "/v1/admin/**", right = "read-write" }`.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Bearer, Json, parse_query};
use axum::extract::{OriginalUri, Path, State};
use axum::http::Method;
use portcullis_core::audit::AuditFilter;
use portcullis_core::ids::{AuditId, UserId};
use portcullis_core::profile::{Profile, Right, RouteRule};
use portcullis_core::service::Identity;
use portcullis_core::user::User;
use portcullis_core::user::UserKind;
use portcullis_core::{CoreError, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One rule: a route pattern, the right it gives, and optionally the methods it is for.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    /// A path template: `/v1/orders/{id}`, `/v1/catalog/**`.
    #[schema(example = "/v1/orders/**")]
    route: String,
    /// `none`, `read` (GET and HEAD) or `read-write` (every method).
    #[schema(example = "read")]
    right: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    methods: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct ProfileBody {
    name: String,
    rules: Vec<RuleBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveProfile {
    rules: Vec<RuleBody>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserProfiles {
    /// Profile names. In answers: the user's own and their kind's defaults.
    profiles: Vec<String>,
}

fn profile_body(p: Profile) -> ProfileBody {
    ProfileBody {
        name: p.name,
        rules: p
            .rules
            .into_iter()
            .map(|r| RuleBody {
                route: r.route,
                right: r.right.as_str().to_owned(),
                methods: r.methods,
            })
            .collect(),
    }
}

fn rule(k: usize, r: RuleBody) -> Result<RouteRule, ApiError> {
    let right = Right::parse(&r.right).ok_or_else(|| {
        ApiError::field(
            &format!("rules[{k}].right"),
            "invalid_rule",
            "right must be none, read or read-write",
        )
    })?;
    Ok(RouteRule {
        route: r.route,
        right,
        methods: r.methods,
    })
}

async fn caller(
    core: &AppState,
    token: &str,
    method: &Method,
    uri: &OriginalUri,
) -> Result<Identity, ApiError> {
    Ok(core
        .admin_caller(token, method.as_str(), uri.path())
        .await?)
}

/// A user of the caller's tenant; another tenant's is not found.
async fn user_of(core: &AppState, caller: &Identity, id: &str) -> Result<User, ApiError> {
    let id = UserId::parse(id).ok_or(CoreError::NotFound("user"))?;
    let user = core.user(id).await?;
    if user.tenant_id != caller.tenant_id {
        return Err(CoreError::NotFound("user").into());
    }
    Ok(user)
}

/// The caller's tenant's profiles.
#[utoipa::path(get, path = "/v1/admin/profiles", tag = "admin",
    responses(
        (status = 200, description = "The profiles, by name", body = Vec<ProfileBody>),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "Not an operator allowed this route", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list_profiles(
    State(core): State<AppState>,
    method: Method,
    uri: OriginalUri,
    Bearer(token): Bearer,
) -> Result<axum::Json<Vec<ProfileBody>>, ApiError> {
    let me = caller(&core, &token, &method, &uri).await?;
    let tenant = core.tenant_by_slug(&me.tenant)?;
    let all = core.profiles(&tenant).await?;
    Ok(axum::Json(all.into_iter().map(profile_body).collect()))
}

/// Create or replace a profile of the caller's tenant.
#[utoipa::path(put, path = "/v1/admin/profiles/{name}", tag = "admin",
    params(("name" = String, Path, description = "The profile's name")),
    request_body = SaveProfile,
    responses(
        (status = 200, description = "The profile as saved", body = ProfileBody),
        (status = 400, description = "A bad name, route, right or method", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "Not an operator allowed this route", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn save_profile(
    State(core): State<AppState>,
    method: Method,
    uri: OriginalUri,
    Bearer(token): Bearer,
    Path(name): Path<String>,
    Json(body): Json<SaveProfile>,
) -> Result<axum::Json<ProfileBody>, ApiError> {
    let me = caller(&core, &token, &method, &uri).await?;
    let tenant = core.tenant_by_slug(&me.tenant)?;
    let rules = body
        .rules
        .into_iter()
        .enumerate()
        .map(|(k, r)| rule(k, r))
        .collect::<Result<Vec<_>, _>>()?;
    let saved = core
        .save_profile(&tenant, &name, rules, &format!("operator {}", me.subject))
        .await?;
    Ok(axum::Json(profile_body(saved)))
}

/// A user's profiles: their own and their kind's defaults.
#[utoipa::path(get, path = "/v1/admin/users/{id}/profiles", tag = "admin",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user's profiles", body = UserProfiles),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "Not an operator allowed this route", body = ErrorBody),
        (status = 404, description = "No such user in the caller's tenant", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn user_profiles(
    State(core): State<AppState>,
    method: Method,
    uri: OriginalUri,
    Bearer(token): Bearer,
    Path(id): Path<String>,
) -> Result<axum::Json<UserProfiles>, ApiError> {
    let me = caller(&core, &token, &method, &uri).await?;
    let user = user_of(&core, &me, &id).await?;
    Ok(axum::Json(UserProfiles {
        profiles: core.profiles_of(&user).await?,
    }))
}

/// Replace the profiles given to a user directly.
#[utoipa::path(put, path = "/v1/admin/users/{id}/profiles", tag = "admin",
    params(("id" = String, Path, description = "The user's id")),
    request_body = UserProfiles,
    responses(
        (status = 200, description = "The user's profiles now (own and defaults)", body = UserProfiles),
        (status = 400, description = "An unknown profile name", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "Not an operator allowed this route", body = ErrorBody),
        (status = 404, description = "No such user in the caller's tenant", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn set_user_profiles(
    State(core): State<AppState>,
    method: Method,
    uri: OriginalUri,
    Bearer(token): Bearer,
    Path(id): Path<String>,
    Json(body): Json<UserProfiles>,
) -> Result<axum::Json<UserProfiles>, ApiError> {
    let me = caller(&core, &token, &method, &uri).await?;
    let user = user_of(&core, &me, &id).await?;
    let profiles = core
        .set_user_profiles(&user, &body.profiles, &format!("operator {}", me.subject))
        .await?;
    Ok(axum::Json(UserProfiles { profiles }))
}

/// Filters of the audit query; every one is optional.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this user's events (their id).
    user: Option<String>,
    /// Only events of users of this kind: operator, customer, supplier or guest.
    kind: Option<String>,
    /// Only this action (`login.failed`) or family of actions (`login`).
    action: Option<String>,
    /// Only events at or after this time (RFC 3339).
    since: Option<String>,
    /// Only events before this time (RFC 3339).
    until: Option<String>,
    /// Only events listed after this one (the `id` of the last event of a page): the next
    /// page. An id of no event of the caller's tenant gives none.
    before: Option<String>,
    /// At most this many, newest first (1 to 1000; default 100).
    limit: Option<u32>,
}

/// One audit event. `detail` is the internal reason, never shown to the user concerned.
#[derive(Serialize, ToSchema)]
pub struct AuditEventBody {
    /// The event's id: `before` for the next page.
    #[schema(example = "01a20aac-6a7a-7d2e-9b1c-3f7e2c0d9a41")]
    id: String,
    #[schema(example = "2026-11-23T10:00:00Z")]
    at: String,
    #[schema(example = "login.failed")]
    action: String,
    user: Option<String>,
    client_id: Option<String>,
    session: Option<String>,
    ip: Option<String>,
    detail: String,
}

fn time_param(name: &str, value: Option<String>) -> Result<Option<Timestamp>, ApiError> {
    value
        .map(|v| {
            Timestamp::parse_rfc3339(&v).ok_or_else(|| {
                ApiError::field(name, "invalid_time", "an RFC 3339 time is expected")
            })
        })
        .transpose()
}

/// The caller's tenant's audit trail: logins, refreshes, reuse, revocations, password
/// resets and changes, lockouts and admin changes, with who, when, from which address and app.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin",
    params(AuditQuery),
    responses(
        (status = 200, description = "Matching events, newest first", body = Vec<AuditEventBody>),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "Not an operator allowed this route", body = ErrorBody),
        (status = 404, description = "No such user in the caller's tenant", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn audit(
    State(core): State<AppState>,
    method: Method,
    uri: OriginalUri,
    Bearer(token): Bearer,
) -> Result<axum::Json<Vec<AuditEventBody>>, ApiError> {
    // Who asks first: a bad query from an unknown caller is a 401, not a 400.
    let me = caller(&core, &token, &method, &uri).await?;
    let q: AuditQuery = parse_query(uri.query())?;
    let tenant = core.tenant_by_slug(&me.tenant)?;
    let user_id = match q.user {
        None => None,
        Some(id) => Some(user_of(&core, &me, &id).await?.id),
    };
    let user_kind = q
        .kind
        .map(|k| {
            UserKind::parse(&k).ok_or_else(|| {
                ApiError::field(
                    "kind",
                    "invalid_kind",
                    "operator, customer, supplier or guest",
                )
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            "invalid_limit",
            "between 1 and 1000",
        ));
    }
    let filter = AuditFilter {
        tenant_id: Some(tenant.id),
        user_id,
        user_kind,
        action: q.action,
        since: time_param("since", q.since)?,
        until: time_param("until", q.until)?,
        before: q
            .before
            .map(|id| {
                AuditId::parse(&id).ok_or_else(|| {
                    ApiError::field("before", "invalid_event_id", "an event's id is expected")
                })
            })
            .transpose()?,
        limit,
    };
    let dir = core.directory();
    let events = core.audit_events(&filter).await?;
    Ok(axum::Json(
        events
            .into_iter()
            .map(|e| AuditEventBody {
                id: e.id.to_string(),
                at: e.at.to_rfc3339(),
                action: e.action,
                user: e.user_id.map(|u| u.to_string()),
                client_id: e
                    .app_id
                    .and_then(|a| dir.app(a))
                    .map(|a| a.client_id.clone()),
                session: e.session_id.map(|s| s.to_string()),
                ip: e.ip,
                detail: e.detail,
            })
            .collect(),
    ))
}
