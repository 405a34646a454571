//! Cardinal's HTTP surface: the Qonto-compatible `/v2` API, the sandbox control API under
//! `/_sandbox`, card images, and health endpoints.

pub mod assets;
pub mod auth;
pub mod body;
pub mod card_create;
pub mod card_updates;
pub mod cards;
pub mod context;
pub mod control;
pub mod data_view;
pub mod error;
pub mod fields;
pub mod idempotency;
pub mod organization;
pub mod params;
pub mod rate_limit;
pub mod sca;
pub mod secrets;
pub mod seed;
pub mod wire;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, patch, post, put};
use axum::{middleware, Json, Router};
use cardinal_store::Store;
use error::{ApiError, ApiResult};
use secrets::{hash_secret, CardVault};
use std::sync::Arc;

/// Whether the sandbox surfaces exist (spec §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sandbox,
    Production,
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub mode: Mode,
    /// Base of every URL the server hands out (card images, data-view pages), no trailing `/`.
    pub public_url: String,
    pub staging_token_hash: Option<[u8; 32]>,
    pub admin_token_hash: [u8; 32],
    pub body_limit_bytes: usize,
    pub rate_limits: rate_limit::RateLimits,
}

impl ApiConfig {
    pub fn new(mode: Mode, public_url: &str, staging_token: Option<&str>, admin_token: &str) -> ApiConfig {
        ApiConfig {
            mode,
            public_url: public_url.trim_end_matches('/').to_owned(),
            staging_token_hash: staging_token.map(hash_secret),
            admin_token_hash: hash_secret(admin_token),
            body_limit_bytes: 256 * 1024,
            rate_limits: rate_limit::RateLimits::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ApiConfig>,
    pub vault: Arc<CardVault>,
    pub rate_limiter: Arc<rate_limit::RateLimiter>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ApiConfig, vault: CardVault) -> AppState {
        let rate_limiter = Arc::new(rate_limit::RateLimiter::new(config.rate_limits.clone()));
        AppState { store, config: Arc::new(config), vault: Arc::new(vault), rate_limiter }
    }

    pub fn links(&self) -> wire::Links<'_> {
        wire::Links { public_url: &self.config.public_url }
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let v2 = Router::new()
        .route("/v2/cards/appearances", get(cards::appearances))
        .route("/v2/cards/{id}", get(cards::show))
        .route("/v2/cards/{id}/data_view", get(data_view::link))
        .route("/v2/cards", get(cards::list).post(card_create::create))
        .route("/v2/cards/bulk", post(card_create::bulk))
        .route("/v2/cards/{id}/lock", put(card_updates::lock))
        .route("/v2/cards/{id}/unlock", put(card_updates::unlock))
        .route("/v2/cards/{id}/lost", put(card_updates::lost))
        .route("/v2/cards/{id}/stolen", put(card_updates::stolen))
        .route("/v2/cards/{id}/discard", put(card_updates::discard))
        .route("/v2/cards/{id}/limits", patch(card_updates::limits))
        .route("/v2/cards/{id}/nickname", patch(card_updates::nickname))
        .route("/v2/cards/{id}/options", patch(card_updates::options))
        .route("/v2/cards/{id}/restrictions", patch(card_updates::restrictions))
        .route("/v2/sca_sessions/{token}", get(sca::show))
        .route("/v2/organization", get(organization::organization))
        .route("/v2/bank_accounts", get(organization::bank_accounts))
        .route("/v2/bank_accounts/{id}", get(organization::bank_account))
        .route("/v2/memberships", get(organization::memberships))
        .route("/v2/membership", get(organization::membership))
        .route_layer(middleware::from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_staging_token));

    let mut app = Router::new()
        .merge(v2)
        .route("/assets/cards/{design}/{file}", get(assets::card_image))
        .route("/card_data/{token}", get(data_view::page))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    if state.config.mode == Mode::Sandbox {
        app = app.merge(control_routes()).merge(mocked_sca_routes(&state));
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit::rate_limit))
        .layer(middleware::from_fn(context::request_context))
        .with_state(state)
}

/// Qonto's sandbox approval routes: under `/v2`, so the staging token applies; the session
/// token itself is the credential.
fn mocked_sca_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/v2/mocked_sca_sessions/{token}", get(sca::mocked_show))
        .route("/v2/mocked_sca_sessions/{token}/{decision}", post(sca::mocked_decide))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require_staging_token))
}

fn control_routes() -> Router<AppState> {
    use axum::routing::delete;
    Router::new()
        .route("/_sandbox/organizations", post(control::create_organization))
        .route("/_sandbox/organizations/{id}", delete(control::delete_organization))
        .route("/_sandbox/organizations/{id}/clock", post(control::clock))
        .route("/_sandbox/tokens", post(control::create_token))
        .route("/_sandbox/tokens/{token}", delete(control::revoke_token))
        .route("/_sandbox/cards/{id}/system_locks", post(control::add_system_lock))
        .route("/_sandbox/cards/{id}/system_locks/{reason}", delete(control::remove_system_lock))
        .route("/_sandbox/cards/{id}/activate", post(control::activate))
        .route("/_sandbox/cards/{id}/events", get(control::events))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not accept this method")
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> ApiResult<Json<serde_json::Value>> {
    state.store.is_empty().await?;
    Ok(Json(serde_json::json!({"status": "ready"})))
}
