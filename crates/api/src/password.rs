//! The password lifecycle over HTTP: forgotten password, reset with the e-mailed token, and
//! change with the current password.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Authorization, Bearer, Ctx, Json};
use crate::oauth::{authenticate, required};
use axum::extract::State;
use axum::http::StatusCode;
use portcullis_core::service::ForgotPassword;
use portcullis_core::user::UserKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zeroize::Zeroizing;

#[derive(Deserialize, ToSchema)]
pub struct ForgotPasswordRequest {
    email: Option<String>,
    /// The page that will take the token: the link sent is this URL with `token=…` added.
    /// Its host must be one of the app's `redirect_hosts`.
    redirect_url: Option<String>,
    /// Kind of the account (default: the app's default kind).
    kind: Option<String>,
    /// Language of the e-mail, e.g. `fr` (default `en`).
    locale: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always `accepted`: the answer never tells whether the account exists.
    status: &'static str,
}

fn password(value: Option<Zeroizing<String>>, field: &str) -> Result<Zeroizing<String>, ApiError> {
    match value {
        Some(p) if !p.is_empty() && p.len() <= 4096 => Ok(p),
        Some(p) if p.len() > 4096 => Err(ApiError::field(
            field,
            "parameter_too_long",
            format!("{field} is too long"),
        )),
        _ => Err(ApiError::missing(field)),
    }
}

/// Send a reset link, if the account exists. The answer is the same either way.
#[utoipa::path(
    post,
    path = "/v1/password/forgot",
    tag = "password",
    request_body = ForgotPasswordRequest,
    responses(
        (status = 202, description = "Accepted; an e-mail is sent if the account exists", body = Accepted),
        (status = 400, description = "Malformed request, bad e-mail or redirect_url host not allowed", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody),
    ),
    security(("client_basic" = []))
)]
pub async fn forgot_password(
    State(core): State<AppState>,
    authorization: Authorization,
    Ctx(ctx): Ctx,
    Json(req): Json<ForgotPasswordRequest>,
) -> Result<(StatusCode, axum::Json<Accepted>), ApiError> {
    let app = authenticate(&core, &authorization, &None, &None)?;
    let email = required(&req.email, "email")?.to_owned();
    let redirect_url = required(&req.redirect_url, "redirect_url")?.to_owned();
    let kind = match req.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(UserKind::parse(k).ok_or_else(|| {
            ApiError::field(
                "kind",
                "unknown_kind",
                "kind must be customer, operator, supplier or guest",
            )
        })?),
    };
    core.forgot_password(
        &app,
        ForgotPassword {
            email,
            redirect_url,
            kind,
            locale: req.locale,
            ctx,
            refuse_if_pending: false,
            accept_username: false,
        },
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Accepted { status: "accepted" }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct ResetPasswordRequest {
    /// The token from the e-mailed link.
    token: Option<String>,
    #[schema(value_type = Option<String>, format = Password)]
    new_password: Option<Zeroizing<String>>,
}

/// Set a new password with the e-mailed token. Every policy violation is listed at once.
#[utoipa::path(
    post,
    path = "/v1/password/reset",
    tag = "password",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password changed; the user's sessions end (per tenant rule)"),
        (status = 400, description = "weak_password (each violation listed), or invalid_grant: reset_token_invalid, reset_token_expired, reset_token_used, reset_token_superseded", body = ErrorBody),
        (status = 401, description = "invalid_client", body = ErrorBody),
    ),
    security(("client_basic" = []))
)]
pub async fn reset_password(
    State(core): State<AppState>,
    authorization: Authorization,
    Ctx(ctx): Ctx,
    Json(req): Json<ResetPasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let app = authenticate(&core, &authorization, &None, &None)?;
    let token = required(&req.token, "token")?;
    let new_password = password(req.new_password, "new_password")?;
    core.reset_password(&app, token, new_password, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct ChangePasswordRequest {
    #[schema(value_type = Option<String>, format = Password)]
    current_password: Option<Zeroizing<String>>,
    #[schema(value_type = Option<String>, format = Password)]
    new_password: Option<Zeroizing<String>>,
}

/// Change the password of the token's user.
#[utoipa::path(
    post,
    path = "/v1/password/change",
    tag = "password",
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed; the user's other sessions end (per tenant rule)"),
        (status = 400, description = "wrong_password (field current_password) or weak_password", body = ErrorBody),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = ErrorBody),
        (status = 429, description = "Too many wrong current passwords; see Retry-After", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn change_password(
    State(core): State<AppState>,
    Ctx(ctx): Ctx,
    Bearer(token): Bearer,
    Json(req): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let claims = core.validate_access(&token)?;
    let current = password(req.current_password, "current_password")?;
    let new_password = password(req.new_password, "new_password")?;
    core.change_password(&claims, current, new_password, &ctx)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
