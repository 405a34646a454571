//! The OAuth 2.0 and OpenID Connect door (spec §8): Qonto's authorization server's paths and
//! parameters, on the application core's OAuth use cases (`cardinal_app::oauth`). Served in
//! sandbox mode.
//!
//! - [`consent`]: `GET`/`POST /oauth2/auth`, the sign-in and consent page;
//! - [`token`]: `POST /oauth2/token` (also `/v2/oauth2/token`) and `POST /oauth2/revoke`;
//! - [`discovery`]: RFC 8414 metadata, the OpenID configuration and the JWK set.

pub mod consent;
pub mod discovery;
pub mod token;

use crate::app::oauth::OAuthError;
use crate::http::error::ApiError;
use crate::http::json::Json;
use crate::wire::oauth::OAuthErrorAnswer;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use cardinal_domain::oauth::GrantError;

/// An RFC 6749 §5.2 error answer, never cached. `invalid_client` is a 401 with a Basic
/// challenge (§5.2); the others are 400s. A server fault keeps Qonto's error shape.
pub fn error_answer(error: OAuthError) -> Response {
    match error {
        OAuthError::Grant(grant) => grant_error(&grant),
        OAuthError::Store(store) => ApiError::from(store).into_response(),
        OAuthError::Signing(cause) => {
            tracing::error!(%cause, "the OpenID signing key is unusable");
            ApiError::internal().into_response()
        }
    }
}

pub fn grant_error(error: &GrantError) -> Response {
    let status = match error {
        GrantError::InvalidClient => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = OAuthErrorAnswer { error: error.code().to_owned(), error_description: error.to_string() };
    let mut response = no_store((status, Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"cardinal\""));
    }
    response
}

/// RFC 6749 §5.1: token answers, and errors, carry `Cache-Control: no-store`.
pub fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
