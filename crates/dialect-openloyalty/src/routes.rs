//! The Open Loyalty routes.

use crate::OlState;
use crate::error::OlError;
use crate::params::{Client, Params};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use portcullis_core::app::{ClientApp, Grant};
use portcullis_core::audit::RequestContext;
use portcullis_core::policy::Violation;
use portcullis_core::service::{ForgotPassword, PasswordLogin, TokenOptions};
use portcullis_core::session::Session;
use portcullis_core::tenant::Tenant;
use portcullis_core::token::{AccessClaims, TokenPair};
use portcullis_core::user::{User, UserKind};
use portcullis_core::{CoreError, ExtraClaimsFn};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;
use zeroize::Zeroizing;

type S = State<OlState>;

/// Open Loyalty's JWT claims: `username`, `roles`, `id`, `lastLoginAt`.
fn ol_claims(user: Option<&User>, session: &Session) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(u) = user {
        let role = match u.kind {
            UserKind::Operator => "ROLE_ADMIN",
            UserKind::Supplier => "ROLE_SELLER",
            _ => "ROLE_PARTICIPANT",
        };
        m.insert("username".into(), json!(u.display_login()));
        m.insert("roles".into(), json!([role]));
        m.insert("id".into(), json!(u.id.to_string()));
        // The login that opened this session.
        m.insert("lastLoginAt".into(), json!(session.created_at.to_rfc3339()));
    }
    m
}

static OL_CLAIMS: &ExtraClaimsFn = &ol_claims;

fn options(state: &OlState) -> TokenOptions<'static> {
    TokenOptions {
        access_ttl: Some(state.settings.access_ttl),
        refresh_ttl: Some(state.settings.refresh_ttl),
        extra_claims: Some(OL_CLAIMS),
        ..Default::default()
    }
}

/// The tenant bound to the dialect: the configured one; else the tenant one of whose brand
/// URLs is the request's host; else the only tenant.
fn tenant(state: &OlState, headers: &HeaderMap) -> Result<Arc<Tenant>, OlError> {
    let not_bound = || {
        OlError::Error(
            StatusCode::NOT_FOUND,
            "no tenant is bound to the Open Loyalty dialect".into(),
        )
    };
    if let Some(slug) = &state.settings.tenant {
        return state.core.tenant_by_slug(slug).map_err(|_| not_bound());
    }
    let dir = state.core.directory();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bare = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if let Some(t) = dir
        .tenant_by_brand_url(host)
        .or_else(|| dir.tenant_by_brand_url(bare))
    {
        return Ok(t.clone());
    }
    let mut all = dir.tenants();
    match (all.next(), all.next()) {
        (Some(t), None) => Ok(t.clone()),
        _ => Err(not_bound()),
    }
}

/// The tenant's app that logs in `kind` users with passwords (the first by client id).
fn app_for(state: &OlState, tenant: &Tenant, kind: UserKind) -> Result<Arc<ClientApp>, OlError> {
    state
        .core
        .directory()
        .apps_of(tenant.id)
        .into_iter()
        .find(|a| a.kinds.contains(&kind) && a.allows(Grant::Password))
        .cloned()
        .ok_or_else(|| {
            OlError::Error(
                StatusCode::FORBIDDEN,
                format!("no client app of this tenant serves {kind} users"),
            )
        })
}

fn store_code(state: &OlState, tenant: &Tenant, code: &str) -> Result<String, OlError> {
    state
        .core
        .directory()
        .store_by_code(tenant.id, code)
        .map(|s| s.code.clone())
        .ok_or(OlError::Code(StatusCode::NOT_FOUND, "Store not found"))
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    token: String,
    refresh_token: Option<String>,
}

fn tokens(
    pair: TokenPair,
) -> (
    [(header::HeaderName, &'static str); 1],
    axum::Json<TokenResponse>,
) {
    (
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(TokenResponse {
            token: pair.access_token,
            refresh_token: pair.refresh_token,
        }),
    )
}

type Tokens = (
    [(header::HeaderName, &'static str); 1],
    axum::Json<TokenResponse>,
);

async fn login(
    state: &OlState,
    headers: &HeaderMap,
    ctx: RequestContext,
    params: Params,
    kind: UserKind,
    store: Option<String>,
) -> Result<Tokens, OlError> {
    let bad = || OlError::Code(StatusCode::UNAUTHORIZED, "Bad credentials");
    let tenant = tenant(state, headers)?;
    let store = store.map(|s| store_code(state, &tenant, &s)).transpose()?;
    let login = params.get(&["username", "_username"]).ok_or_else(bad)?;
    let password = Zeroizing::new(params.get(&["password", "_password"]).ok_or_else(bad)?);
    let app = app_for(state, &tenant, kind)?;
    let req = PasswordLogin {
        login,
        password,
        kind: Some(kind),
        store,
        store_view: None,
        ctx,
    };
    Ok(tokens(
        state
            .core
            .login_password_with(&app, req, options(state))
            .await?,
    ))
}

/// Admin login.
#[utoipa::path(post, path = "/api/admin/login_check", tag = "openloyalty",
    request_body(content = Object, description = "username and password (or _username, _password), form-encoded or JSON"),
    responses((status = 200, body = TokenResponse), (status = 400, description = "Malformed body"), (status = 401, description = "{\"code\":401,\"message\":\"Bad credentials\"}")))]
pub async fn admin_login(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    params: Params,
) -> Result<Tokens, OlError> {
    login(&state, &headers, ctx, params, UserKind::Operator, None).await
}

/// Customer (member) login to a store.
#[utoipa::path(post, path = "/api/{storeCode}/member/login_check", tag = "openloyalty",
    params(("storeCode" = String, Path)),
    request_body(content = Object, description = "username and password"),
    responses((status = 200, body = TokenResponse), (status = 400, description = "Malformed body"), (status = 401), (status = 404, description = "Unknown store")))]
pub async fn member_login(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    Path(store): Path<String>,
    params: Params,
) -> Result<Tokens, OlError> {
    login(
        &state,
        &headers,
        ctx,
        params,
        UserKind::Customer,
        Some(store),
    )
    .await
}

/// Alias of the member login.
#[utoipa::path(post, path = "/api/{storeCode}/customer/login_check", tag = "openloyalty",
    params(("storeCode" = String, Path)),
    request_body(content = Object, description = "username and password"),
    responses((status = 200, body = TokenResponse), (status = 400, description = "Malformed body"), (status = 401), (status = 404)))]
pub async fn customer_login(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    Path(store): Path<String>,
    params: Params,
) -> Result<Tokens, OlError> {
    login(
        &state,
        &headers,
        ctx,
        params,
        UserKind::Customer,
        Some(store),
    )
    .await
}

async fn refresh(
    state: &OlState,
    headers: &HeaderMap,
    ctx: &RequestContext,
    params: Params,
    kind: UserKind,
) -> Result<Tokens, OlError> {
    let tenant = tenant(state, headers)?;
    let token = params
        .get(&["refresh_token"])
        .ok_or_else(|| OlError::empty_field("refresh_token"))?;
    let app = app_for(state, &tenant, kind)?;
    Ok(tokens(
        state
            .core
            .refresh_with(&app, &token, ctx, options(state))
            .await?,
    ))
}

/// Admin token refresh (the refresh token's lifetime slides).
#[utoipa::path(post, path = "/api/token/refresh", tag = "openloyalty",
    request_body(content = Object, description = "refresh_token"),
    responses((status = 200, body = TokenResponse), (status = 400, description = "Malformed body"), (status = 401)))]
pub async fn admin_refresh(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    params: Params,
) -> Result<Tokens, OlError> {
    refresh(&state, &headers, &ctx, params, UserKind::Operator).await
}

/// Customer token refresh.
#[utoipa::path(post, path = "/api/{storeCode}/token/refresh", tag = "openloyalty",
    params(("storeCode" = String, Path)),
    request_body(content = Object, description = "refresh_token"),
    responses((status = 200, body = TokenResponse), (status = 400, description = "Malformed body"), (status = 401), (status = 404)))]
pub async fn store_refresh(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    Path(store): Path<String>,
    params: Params,
) -> Result<Tokens, OlError> {
    store_code(&state, &*tenant(&state, &headers)?, &store)?;
    refresh(&state, &headers, &ctx, params, UserKind::Customer).await
}

/// The JWT of the request, checked: 401 with Open Loyalty's messages otherwise.
fn jwt(state: &OlState, headers: &HeaderMap) -> Result<std::sync::Arc<AccessClaims>, OlError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(OlError::Code(
            StatusCode::UNAUTHORIZED,
            "JWT Token not found",
        ))?;
    let claims = state
        .core
        .validate_access(token)
        .map_err(OlError::from_token)?;
    if claims.tenant != tenant(state, headers)?.slug {
        return Err(OlError::Code(StatusCode::UNAUTHORIZED, "Invalid JWT Token"));
    }
    Ok(claims)
}

/// Logout: the JWT and all the user's refresh tokens stop working.
#[utoipa::path(get, path = "/api/token/revoke", tag = "openloyalty",
    responses((status = 200, description = "Revoked, no content"), (status = 401)))]
pub async fn revoke(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
) -> Result<StatusCode, OlError> {
    let claims = jwt(&state, &headers)?;
    state
        .core
        .logout_everywhere(&claims, &ctx)
        .await
        .map_err(OlError::from_token)?;
    Ok(StatusCode::OK)
}

fn success() -> axum::Json<Value> {
    axum::Json(json!({"success": true}))
}

async fn reset_request(
    state: &OlState,
    headers: &HeaderMap,
    ctx: RequestContext,
    params: Params,
    kind: UserKind,
) -> Result<axum::Json<Value>, OlError> {
    let tenant = tenant(state, headers)?;
    let email = params
        .get(&["username"])
        .ok_or_else(|| OlError::empty_field("username"))?;
    let app = app_for(state, &tenant, kind)?;
    let host = app.redirect_hosts.first().ok_or_else(|| {
        OlError::Error(
            StatusCode::BAD_REQUEST,
            "the app has no redirect host for reset links".into(),
        )
    })?;
    let forgot = ForgotPassword {
        email,
        redirect_url: format!("https://{host}/password/reset"),
        kind: Some(kind),
        locale: None,
        ctx,
        refuse_if_pending: true,
        accept_username: true,
    };
    state
        .core
        .forgot_password(&app, forgot)
        .await
        .map_err(|e| match e {
            // Open Loyalty answers a repeated request with 400.
            CoreError::Conflict(m) => OlError::Error(StatusCode::BAD_REQUEST, m),
            other => other.into(),
        })?;
    Ok(success())
}

/// Customer password reset request: `{"success":true}` for unknown users too.
#[utoipa::path(post, path = "/api/{storeCode}/customer/password/reset/request", tag = "openloyalty",
    params(("storeCode" = String, Path)),
    request_body(content = Object, description = "username (e-mail)"),
    responses((status = 200, description = "{\"success\":true}"), (status = 400), (status = 404)))]
pub async fn customer_reset_request(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    Path(store): Path<String>,
    params: Params,
) -> Result<axum::Json<Value>, OlError> {
    store_code(&state, &*tenant(&state, &headers)?, &store)?;
    reset_request(&state, &headers, ctx, params, UserKind::Customer).await
}

/// Admin password reset request.
#[utoipa::path(post, path = "/api/password/reset/request", tag = "openloyalty",
    request_body(content = Object, description = "username (e-mail)"),
    responses((status = 200, description = "{\"success\":true}"), (status = 400)))]
pub async fn admin_reset_request(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    params: Params,
) -> Result<axum::Json<Value>, OlError> {
    reset_request(&state, &headers, ctx, params, UserKind::Operator).await
}

/// Open Loyalty's policy messages, in its order.
fn policy_messages(violations: &[Violation]) -> Vec<String> {
    let has = |code: &str| violations.iter().any(|v| v.code == code);
    let mut out = Vec::new();
    if has("password_too_short") {
        out.push("Your password must be at least 8 characters long.".to_owned());
    }
    if has("password_missing_uppercase") && has("password_missing_lowercase") {
        out.push("Your password must include at least one letter.".to_owned());
    }
    if has("password_missing_uppercase") || has("password_missing_lowercase") {
        out.push("Your password must include both upper and lower case letters.".to_owned());
    }
    if has("password_missing_digit") {
        out.push("Your password must include at least one number.".to_owned());
    }
    if has("password_missing_special") {
        out.push("Your password must contain at least one special character.".to_owned());
    }
    for v in violations {
        if !matches!(
            v.code,
            "password_too_short"
                | "password_missing_uppercase"
                | "password_missing_lowercase"
                | "password_missing_digit"
                | "password_missing_special"
        ) {
            out.push(v.message.clone());
        }
    }
    out
}

/// A core error as Open Loyalty's form errors on `field`, when it is about the password.
fn form_error(e: CoreError, field: &'static str, others: &[&'static str]) -> OlError {
    let mut fields: BTreeMap<&'static str, Vec<String>> =
        others.iter().map(|f| (*f, Vec::new())).collect();
    match e {
        CoreError::WeakPassword { violations, .. } => {
            fields.insert(field, policy_messages(&violations));
            OlError::Form(fields)
        }
        CoreError::InvalidRequest {
            code: "wrong_password",
            ..
        } => {
            fields.insert(
                "currentPassword",
                vec!["This value should be the user's current password.".to_owned()],
            );
            OlError::Form(fields)
        }
        other => other.into(),
    }
}

/// Set a new password with the e-mailed token.
#[utoipa::path(post, path = "/api/password/reset", tag = "openloyalty",
    request_body(content = Object, description = "token and reset[plainPassword]"),
    responses((status = 200, description = "{\"success\":true}"), (status = 400, description = "Empty fields, or form errors"), (status = 404, description = "Unknown, used or expired token")))]
pub async fn reset(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    params: Params,
) -> Result<axum::Json<Value>, OlError> {
    let tenant = tenant(&state, &headers)?;
    let token = params
        .get(&["token"])
        .ok_or_else(|| OlError::empty_field("token"))?;
    let password = params
        .get(&["reset[plainPassword]"])
        .ok_or_else(|| OlError::empty_field("reset[plainPassword]"))?;
    let app = app_for(&state, &tenant, UserKind::Customer)
        .or_else(|_| app_for(&state, &tenant, UserKind::Operator))?;
    state
        .core
        .reset_password(&app, &token, Zeroizing::new(password), &ctx)
        .await
        .map_err(|e| form_error(e, "plainPassword", &[]))?;
    Ok(success())
}

async fn change(
    state: &OlState,
    headers: &HeaderMap,
    ctx: &RequestContext,
    store: &str,
    params: Params,
    kind: UserKind,
) -> Result<axum::Json<Value>, OlError> {
    let claims = jwt(state, headers)?;
    store_code(state, &*tenant(state, headers)?, store)?;
    if claims.kind != kind.as_str() {
        return Err(OlError::Error(
            StatusCode::FORBIDDEN,
            "this route is for another kind of user".into(),
        ));
    }
    let blank = || vec!["This value should not be blank.".to_owned()];
    let current = params.get(&["currentPassword"]);
    let new = params.get(&["plainPassword"]);
    let (Some(current), Some(new)) = (current.clone(), new.clone()) else {
        let mut fields = BTreeMap::new();
        fields.insert(
            "currentPassword",
            if current.is_none() {
                blank()
            } else {
                Vec::new()
            },
        );
        fields.insert(
            "plainPassword",
            if new.is_none() { blank() } else { Vec::new() },
        );
        return Err(OlError::Form(fields));
    };
    state
        .core
        .change_password(&claims, Zeroizing::new(current), Zeroizing::new(new), ctx)
        .await
        .map_err(|e| form_error(e, "plainPassword", &["currentPassword", "plainPassword"]))?;
    Ok(success())
}

/// Change the logged-in customer's password.
#[utoipa::path(post, path = "/api/{storeCode}/customer/password/change", tag = "openloyalty",
    params(("storeCode" = String, Path)),
    request_body(content = Object, description = "currentPassword and plainPassword"),
    responses((status = 200, description = "{\"success\":true}"), (status = 400, description = "Form errors"), (status = 401), (status = 403, description = "A token of another kind of user"), (status = 404, description = "Unknown store")))]
pub async fn customer_change(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    Path(store): Path<String>,
    params: Params,
) -> Result<axum::Json<Value>, OlError> {
    change(&state, &headers, &ctx, &store, params, UserKind::Customer).await
}

/// Change the logged-in admin's password.
#[utoipa::path(post, path = "/api/{storeCode}/admin/password/change", tag = "openloyalty",
    params(("storeCode" = String, Path)),
    request_body(content = Object, description = "currentPassword and plainPassword"),
    responses((status = 200, description = "{\"success\":true}"), (status = 400), (status = 401), (status = 403, description = "A token of another kind of user"), (status = 404, description = "Unknown store")))]
pub async fn admin_change(
    State(state): S,
    headers: HeaderMap,
    Client(ctx): Client,
    Path(store): Path<String>,
    params: Params,
) -> Result<axum::Json<Value>, OlError> {
    change(&state, &headers, &ctx, &store, params, UserKind::Operator).await
}
