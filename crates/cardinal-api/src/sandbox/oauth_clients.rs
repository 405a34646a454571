//! `/_sandbox/oauth_clients` (spec §8): register, list and delete the OAuth client
//! applications the sandbox's authorization server knows. The secret shows only in the
//! `201`; deleting a client stops every token it was issued.

use crate::app::oauth::clients;
use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::wire::oauth::{OAuthClientBody, OAuthClientCreated, OAuthClientList, OAuthClientRequest};
use crate::wire::{Meta, Time};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cardinal_store::OAuthClient;

fn body(client: &OAuthClient) -> OAuthClientBody {
    OAuthClientBody {
        client_id: client.id.clone(),
        name: client.name.clone(),
        redirect_uris: client.redirect_uris.clone(),
        created_at: Time(client.created_at),
    }
}

/// `POST /_sandbox/oauth_clients` → `201` with the client's secret, shown this once.
pub async fn create(
    State(state): State<AppState>,
    _: Operator,
    JsonBody(request): JsonBody<OAuthClientRequest>,
) -> ApiResult<Response> {
    let registered = clients::register(&state.app, request.name, request.redirect_uris).await?;
    let client = registered.client;
    let answer = OAuthClientCreated {
        client_id: client.id,
        client_secret: registered.secret,
        name: client.name,
        redirect_uris: client.redirect_uris,
        created_at: Time(client.created_at),
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /_sandbox/oauth_clients`, oldest first.
pub async fn list(
    State(state): State<AppState>,
    _: Operator,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<OAuthClientList>> {
    let page = Params::parse(query.as_deref()).page()?;
    let found = clients::list(&state.app, page).await?;
    Ok(Json(OAuthClientList { oauth_clients: found.items.iter().map(body).collect(), meta: Meta::of(&found, page) }))
}

/// `DELETE /_sandbox/oauth_clients/{client_id}` → `204`.
pub async fn delete(
    State(state): State<AppState>,
    _: Operator,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    match clients::delete(&state.app, &client_id).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::not_found("OAuth client")),
    }
}
