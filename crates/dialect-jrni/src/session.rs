//! Logins (admin, member, either) and logout. A login answers JRNI's login resource and
//! the token in the `Auth-Token` response header.

use crate::auth::{App, Authed, Json, Path};
use crate::error::{ErrorBody, JrniError};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::Core;
use portcullis_core::service::PasswordLogin;
use portcullis_core::session::Session;
use portcullis_core::user::{User, UserKind};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use utoipa::ToSchema;
use zeroize::Zeroizing;

type S = State<Arc<Core>>;

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    email: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    password: Option<Zeroizing<String>>,
    /// Company id, when the route does not name one.
    id: Option<i64>,
}

/// JRNI's login resource.
#[derive(Serialize, ToSchema)]
pub struct LoginResource {
    email: String,
    auth_token: String,
    company_id: Option<i64>,
    path: String,
    role: String,
    #[schema(value_type = Object)]
    _embedded: serde_json::Value,
    #[schema(value_type = Object)]
    _links: serde_json::Value,
}

/// The person resource of a user: an administrator or a member.
/// The person resource of a user, with the integer id JRNI clients expect.
pub(crate) async fn person(
    core: &Core,
    user: &User,
    company: Option<i64>,
) -> Result<serde_json::Value, JrniError> {
    let id = core.user_number(user).await?;
    Ok(person_with(core, user, id, company))
}

fn person_with(core: &Core, user: &User, id: i64, company: Option<i64>) -> serde_json::Value {
    let name = user.display_login().to_owned();
    match user.kind {
        UserKind::Operator => {
            let company_name = user.store_id.and_then(|s| {
                core.directory()
                    .store(user.tenant_id, s)
                    .map(|s| s.name.clone())
            });
            json!({"id": id, "name": name, "email": user.email, "role": "owner",
                   "company_id": company, "company_name": company_name})
        }
        _ => {
            json!({"id": id, "name": name, "first_name": null, "last_name": null, "email": user.email})
        }
    }
}

/// The JRNI company id of a session's store.
pub(crate) fn session_company(core: &Core, session: &Session) -> Option<i64> {
    session.store_id.and_then(|s| {
        core.directory()
            .store(session.tenant_id, s)
            .and_then(|s| s.company_id)
    })
}

fn login_response(
    core: &Core,
    token: String,
    session: &Session,
    user: &User,
    person: serde_json::Value,
) -> Response {
    let company = session_company(core, session);
    let company_path = company.map_or_else(|| "{company_id}".to_owned(), |c| c.to_string());
    let (embedded, link_name, href) = match user.kind {
        UserKind::Operator => (
            "administrators",
            "administrator",
            format!("/api/v5/{company_path}/administrators/{{id}}"),
        ),
        _ => (
            "members",
            "member",
            format!("/api/v5/{company_path}/members/{{id}}"),
        ),
    };
    let body = LoginResource {
        email: user.email.clone().unwrap_or_default(),
        auth_token: token.clone(),
        company_id: company,
        path: "/api/v5/login".to_owned(),
        role: if user.kind == UserKind::Operator {
            "owner"
        } else {
            "member"
        }
        .to_owned(),
        _embedded: json!({ embedded: [person] }),
        _links: json!({"self": {"href": "/api/v5/login"}, link_name: {"href": href, "templated": true}}),
    };
    let mut resp = axum::Json(body).into_response();
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&token) {
        headers.insert("auth-token", v);
    }
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

async fn login(
    core: &Core,
    app: App,
    req: LoginRequest,
    kind: UserKind,
    company: Option<i64>,
) -> Result<Response, JrniError> {
    let email = req
        .email
        .filter(|e| !e.is_empty())
        .ok_or_else(|| JrniError::bad_request("email is required"))?;
    let password = req
        .password
        .filter(|p| !p.is_empty() && p.len() <= 4096)
        .ok_or_else(|| JrniError::bad_request("password is required"))?;
    let store = match company.or(req.id) {
        Some(c) => Some(
            core.directory()
                .store_by_company(app.app.tenant_id, c)
                .map(|s| s.code.clone())
                .ok_or_else(JrniError::not_found)?,
        ),
        None => None,
    };
    let role = if kind == UserKind::Operator {
        "admin"
    } else {
        "member"
    };
    let req = PasswordLogin {
        login: email,
        password,
        kind: Some(kind),
        store,
        store_view: None,
        ctx: app.ctx,
    };
    let (token, session, user) = core
        .login_opaque(&app.app, req, role, kind == UserKind::Operator)
        .await?;
    let company = session_company(core, &session);
    let resource = person(core, &user, company).await?;
    Ok(login_response(core, token, &session, &user, resource))
}

/// Administrator login.
#[utoipa::path(post, path = "/api/v5/login/admin", tag = "jrni",
    params(("App-Id" = String, Header, description = "The client app's id")),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; the token is also in the Auth-Token header", body = LoginResource),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Unknown App-Id or bad credentials", body = ErrorBody),
    ))]
pub async fn login_admin(
    State(core): S,
    app: App,
    Json(req): Json<LoginRequest>,
) -> Result<Response, JrniError> {
    login(&core, app, req, UserKind::Operator, None).await
}

/// Administrator login to a company (the administrator's own).
#[utoipa::path(post, path = "/api/v5/login/admin/{company_id}", tag = "jrni",
    params(("App-Id" = String, Header), ("company_id" = i64, Path)),
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResource),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "An administrator of another company", body = ErrorBody),
        (status = 404, description = "Unknown company", body = ErrorBody),
    ))]
pub async fn login_admin_company(
    State(core): S,
    app: App,
    Path(company_id): Path<i64>,
    Json(req): Json<LoginRequest>,
) -> Result<Response, JrniError> {
    login(&core, app, req, UserKind::Operator, Some(company_id)).await
}

/// Member login.
#[utoipa::path(post, path = "/api/v5/login/member", tag = "jrni",
    params(("App-Id" = String, Header)),
    request_body = LoginRequest,
    responses((status = 200, body = LoginResource), (status = 400, description = "Malformed JSON", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn login_member(
    State(core): S,
    app: App,
    Json(req): Json<LoginRequest>,
) -> Result<Response, JrniError> {
    login(&core, app, req, UserKind::Customer, None).await
}

/// Member login to a company.
#[utoipa::path(post, path = "/api/v5/{company_id}/login", tag = "jrni",
    params(("App-Id" = String, Header), ("company_id" = i64, Path)),
    request_body = LoginRequest,
    responses((status = 200, body = LoginResource), (status = 400, description = "Malformed JSON", body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn login_company_member(
    State(core): S,
    app: App,
    Path(company_id): Path<i64>,
    Json(req): Json<LoginRequest>,
) -> Result<Response, JrniError> {
    login(&core, app, req, UserKind::Customer, Some(company_id)).await
}

/// Login as a member, or as an administrator when the e-mail is an administrator's.
#[utoipa::path(post, path = "/api/v5/login", tag = "jrni",
    params(("App-Id" = String, Header)),
    request_body = LoginRequest,
    responses((status = 200, body = LoginResource), (status = 400, description = "Malformed JSON", body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn login_any(
    State(core): S,
    app: App,
    Json(req): Json<LoginRequest>,
) -> Result<Response, JrniError> {
    let LoginRequest {
        email,
        password,
        id,
    } = req;
    let retry = LoginRequest {
        email: email.clone(),
        password: password.clone(),
        id,
    };
    match login(
        &core,
        app.clone(),
        LoginRequest {
            email,
            password,
            id,
        },
        UserKind::Customer,
        None,
    )
    .await
    {
        // Not a member: perhaps an administrator. Every failure hashes twice, so its cost
        // says nothing about which kind of account exists.
        Err(e) if e.status_code() == StatusCode::UNAUTHORIZED => {
            login(&core, app, retry, UserKind::Operator, None).await
        }
        other => other,
    }
}

/// Logout: the token stops working at once.
#[utoipa::path(delete, path = "/api/v5/login", tag = "jrni",
    params(("App-Id" = String, Header), ("Auth-Token" = String, Header)),
    responses((status = 200, description = "Logged out"), (status = 401, body = ErrorBody)))]
pub async fn logout(State(core): S, authed: Authed) -> Result<StatusCode, JrniError> {
    core.logout_opaque(&authed.grant, &authed.ctx)
        .await
        .map_err(JrniError::from)?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize, ToSchema)]
pub struct ResetEmailRequest {
    email: Option<String>,
}

/// JRNI's answer to a reset request: the same whether or not the account exists.
#[derive(Serialize, ToSchema)]
pub struct ResetEmailResponse {
    result: &'static str,
    message: &'static str,
}

/// Send a member a password reset e-mail. The link points to `https://<the app's first
/// redirect host>/reset-password?company_id=…&token=…`.
#[utoipa::path(post, path = "/api/v5/login/{company_id}/email_password_reset", tag = "jrni",
    params(("App-Id" = String, Header), ("company_id" = i64, Path)),
    request_body = ResetEmailRequest,
    responses(
        (status = 200, description = "Accepted, whether or not the account exists", body = ResetEmailResponse),
        (status = 400, description = "Malformed request, or the app has no redirect host", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "Unknown company", body = ErrorBody),
    ))]
pub async fn email_password_reset(
    State(core): S,
    app: App,
    Path(company_id): Path<i64>,
    Json(req): Json<ResetEmailRequest>,
) -> Result<axum::Json<ResetEmailResponse>, JrniError> {
    let email = req
        .email
        .filter(|e| !e.is_empty())
        .ok_or_else(|| JrniError::bad_request("email is required"))?;
    if core
        .directory()
        .store_by_company(app.app.tenant_id, company_id)
        .is_none()
    {
        return Err(JrniError::not_found());
    }
    let host =
        app.app.redirect_hosts.first().ok_or_else(|| {
            JrniError::bad_request("the app has no redirect host for reset links")
        })?;
    let redirect_url = format!("https://{host}/reset-password?company_id={company_id}");
    let forgot = portcullis_core::service::ForgotPassword {
        email,
        redirect_url,
        kind: Some(UserKind::Customer),
        locale: None,
        ctx: app.ctx,
        refuse_if_pending: false,
        accept_username: false,
    };
    core.forgot_password(&app.app, forgot).await?;
    Ok(axum::Json(ResetEmailResponse {
        result: "ok",
        message: "if the address belongs to an account, a reset e-mail is on its way",
    }))
}
