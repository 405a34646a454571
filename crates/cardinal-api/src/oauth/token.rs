//! `POST /oauth2/token` and `POST /oauth2/revoke`: form bodies, the client authenticated by
//! HTTP Basic or `client_secret_post` (RFC 6749 §2.3.1), then the core's grant use cases.

use super::{error_answer, no_store};
use crate::app::oauth::{clients, tokens, OAuthError};
use crate::http::form::Form;
use crate::http::json::Json;
use crate::wire::oauth::TokenAnswer;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use cardinal_domain::oauth::GrantError;
use cardinal_store::OAuthClient;

fn invalid_request(detail: impl Into<String>) -> OAuthError {
    GrantError::InvalidRequest(detail.into()).into()
}

/// The form of a request that says it is one (RFC 6749 §3.2: the token endpoint takes
/// `application/x-www-form-urlencoded`).
pub fn form_of(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(invalid_request("the body must be application/x-www-form-urlencoded"));
    }
    Form::parse(body).map_err(invalid_request)
}

/// The client's id and secret, from HTTP Basic (each form-encoded, RFC 6749 §2.3.1) or from
/// the form; using both is refused, as the RFC asks.
fn client_credentials(headers: &HeaderMap, form: &Form) -> Result<(String, String), OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| basic_credentials(encoded.trim()));
    let posted = (form.owned("client_id"), form.owned("client_secret"));
    match (basic, posted) {
        (Some(_), (_, Some(_))) => Err(invalid_request("authenticate with HTTP Basic or client_secret, not both")),
        (Some(basic), _) => basic.ok_or(GrantError::InvalidClient.into()),
        (None, (Some(id), Some(secret))) => Ok((id, secret)),
        (None, _) => Err(GrantError::InvalidClient.into()),
    }
}

fn basic_credentials(encoded: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape =
        |part: &str| form_urlencoded::parse(format!("v={part}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((unescape(id)?, unescape(secret)?))
}

async fn authenticated(state: &AppState, headers: &HeaderMap, form: &Form) -> Result<OAuthClient, OAuthError> {
    let (id, secret) = client_credentials(headers, form)?;
    clients::authenticate(&state.app, &id, &secret).await
}

/// `POST /oauth2/token`: `authorization_code` or `refresh_token`. `X-Qonto-Staging-Token`
/// is accepted and ignored (spec §8).
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match grant(&state, &headers, &body).await {
        Ok(tokens) => {
            let answer = TokenAnswer {
                access_token: tokens.access_token,
                token_type: "bearer".into(),
                expires_in: tokens.expires_in,
                scope: tokens.scope,
                refresh_token: tokens.refresh_token,
                id_token: tokens.id_token,
            };
            no_store(Json(answer).into_response())
        }
        Err(error) => error_answer(error),
    }
}

async fn grant(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<tokens::Tokens, OAuthError> {
    let form = form_of(headers, body)?;
    let grant_type = form.get("grant_type").ok_or_else(|| invalid_request("grant_type is required"))?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(GrantError::UnsupportedGrantType.into());
    }
    let client = authenticated(state, headers, &form).await?;
    if grant_type == "authorization_code" {
        let code = form.get("code").ok_or_else(|| invalid_request("code is required"))?;
        tokens::exchange(&state.app, &client, code, form.get("redirect_uri"), form.get("code_verifier")).await
    } else {
        let refresh = form.get("refresh_token").ok_or_else(|| invalid_request("refresh_token is required"))?;
        tokens::refresh_tokens(&state.app, &client, refresh, form.get("scope")).await
    }
}

/// `POST /oauth2/revoke` (RFC 7009): `200` whether or not the token was one, once the
/// client is authenticated.
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let revoked = async {
        let form = form_of(&headers, &body)?;
        let client = authenticated(&state, &headers, &form).await?;
        let token = form.get("token").ok_or_else(|| invalid_request("token is required"))?;
        tokens::revoke(&state.app, &client, token).await
    };
    match revoked.await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(error) => error_answer(error),
    }
}
