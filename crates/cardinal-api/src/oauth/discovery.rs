//! The discovery documents: RFC 8414 metadata at `/.well-known/oauth-authorization-server`,
//! OpenID Connect Discovery at `/.well-known/openid-configuration`, and the signing key at
//! `/.well-known/jwks.json`.

use crate::app::oauth::{known_scopes, OAuthError};
use crate::http::json::Json;
use crate::wire::oauth::{OpenIdMetadata, ServerMetadata};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

/// The consent page's languages.
pub const UI_LOCALES: [&str; 2] = ["en", "fr"];

fn metadata(state: &AppState, openid: bool) -> ServerMetadata {
    let url = &state.config.public_url;
    let client_auth = vec!["client_secret_basic", "client_secret_post"];
    ServerMetadata {
        issuer: url.clone(),
        authorization_endpoint: format!("{url}/oauth2/auth"),
        token_endpoint: format!("{url}/oauth2/token"),
        revocation_endpoint: format!("{url}/oauth2/revoke"),
        jwks_uri: format!("{url}/.well-known/jwks.json"),
        scopes_supported: known_scopes().into_iter().map(Into::into).collect(),
        response_types_supported: vec!["code".into()],
        response_modes_supported: vec!["query".into()],
        grant_types_supported: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_methods_supported: client_auth.clone().into_iter().map(Into::into).collect(),
        revocation_endpoint_auth_methods_supported: client_auth.into_iter().map(Into::into).collect(),
        code_challenge_methods_supported: vec!["S256".into()],
        ui_locales_supported: UI_LOCALES.to_vec().into_iter().map(Into::into).collect(),
        openid: openid.then(|| OpenIdMetadata {
            subject_types_supported: vec!["public".into()],
            id_token_signing_alg_values_supported: vec!["RS256".into()],
            claims_supported: vec![
                "iss".into(),
                "sub".into(),
                "aud".into(),
                "exp".into(),
                "iat".into(),
                "auth_time".into(),
                "at_hash".into(),
                "email".into(),
                "sid".into(),
                "jti".into(),
                "rat".into(),
                "nonce".into(),
            ],
        }),
    }
}

/// `GET /.well-known/oauth-authorization-server`.
pub async fn authorization_server(State(state): State<AppState>) -> Json<ServerMetadata> {
    Json(metadata(&state, false))
}

/// `GET /.well-known/openid-configuration`.
pub async fn openid_configuration(State(state): State<AppState>) -> Json<ServerMetadata> {
    Json(metadata(&state, true))
}

/// `GET /.well-known/jwks.json`: the public half of the ID-token signing key.
pub async fn jwks(State(state): State<AppState>) -> Response {
    match state.app.signing_key().await {
        Ok(key) => Json(key.jwks()).into_response(),
        Err(cause) => super::error_answer(OAuthError::Signing(cause)),
    }
}
