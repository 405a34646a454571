//! Cardinal's HTTP surface: the Qonto-compatible `/v2` API, the sandbox control API under
//! `/_sandbox`, card images, and health endpoints.

pub mod http;
pub mod openapi;
pub mod operator;
pub mod render;
pub mod routes;
pub mod sandbox;
pub mod v2;
/// The application core every handler calls (and what it is made of, under the names the
/// handlers have always used).
pub use cardinal_app::{self as app, ids, issuing, net, secrets, spans, webhooks, App, Mode};
/// Qonto's JSON shapes, in a crate of their own (no server dependency).
pub use cardinal_wire as wire;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::{middleware, Router};
use cardinal_store::Store;
use http::error::ApiError;
use routes::Surface;
use secrets::{hash_secret, CardVault};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub mode: Mode,
    /// Base of every URL the server hands out (card images, data-view pages), no trailing `/`.
    pub public_url: String,
    pub staging_token_hash: Option<[u8; 32]>,
    /// The operator token's hash; without one (production not given `--operator-token`) the
    /// operator API is not served.
    pub operator_token_hash: Option<[u8; 32]>,
    pub body_limit_bytes: usize,
    /// How long a request body may stop arriving before the request is answered 408.
    pub body_stall: std::time::Duration,
    pub rate_limits: http::rate_limit::RateLimits,
    /// How long a failed webhook delivery waits before each next attempt; after the last,
    /// the delivery is failed. Qonto-like by default ([`webhooks::delivery::RETRY_DELAYS`]).
    pub webhook_retry_delays: Vec<jiff::SignedDuration>,
    /// The addresses webhooks may dial: public ones, local ones too in the sandbox, and
    /// the blocks of `--webhook-allow-network`.
    pub webhook_addresses: webhooks::address::AddressPolicy,
    /// When a failing subscription is slowed and when disabled (`--webhook-disable-after`).
    pub webhook_health: cardinal_store::HealthRules,
}

impl ApiConfig {
    pub fn new(mode: Mode, public_url: &str, staging_token: Option<&str>, operator_token: Option<&str>) -> ApiConfig {
        ApiConfig {
            mode,
            public_url: public_url.trim_end_matches('/').to_owned(),
            staging_token_hash: staging_token.map(hash_secret),
            operator_token_hash: operator_token.map(hash_secret),
            body_limit_bytes: 256 * 1024,
            body_stall: std::time::Duration::from_secs(20),
            rate_limits: http::rate_limit::RateLimits::default(),
            webhook_retry_delays: webhooks::delivery::RETRY_DELAYS.to_vec(),
            webhook_addresses: webhooks::address::AddressPolicy::new(mode, Vec::new()),
            webhook_health: cardinal_store::HealthRules::default(),
        }
    }
}

/// What every handler shares. Axum clones the state for each extractor of each request, so
/// it is one pointer: cloning it is one atomic increment, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What handlers share beside the application core, which it derefs to (`state.store`,
/// `state.vault` are the core's).
pub struct Shared {
    /// The application core: store, card-data vault, webhook policy, resolver.
    pub app: App,
    pub config: ApiConfig,
    pub rate_limiter: http::rate_limit::RateLimiter,
    /// The OpenAPI document, built on first request.
    pub openapi: std::sync::OnceLock<serde_json::Value>,
    /// Builds that document: [`openapi::document`].
    pub openapi_builder: fn(routes::Served, &str) -> serde_json::Value,
    pub rendered: render::cards::RenderedCards,
}

impl std::ops::Deref for Shared {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ApiConfig, vault: CardVault) -> AppState {
        AppState::with_resolver(store, config, vault, Arc::new(webhooks::address::SystemResolver))
    }

    /// With another resolver of callback hosts (tests script DNS answers with one).
    pub fn with_resolver(
        store: Arc<dyn Store>,
        config: ApiConfig,
        vault: CardVault,
        resolver: Arc<dyn webhooks::address::HostResolver>,
    ) -> AppState {
        let rate_limiter = http::rate_limit::RateLimiter::new(config.rate_limits.clone());
        let webhooks = app::WebhookPolicy {
            retry_delays: config.webhook_retry_delays.clone(),
            addresses: config.webhook_addresses.clone(),
            health: config.webhook_health,
        };
        AppState(Arc::new(Shared {
            app: App::new(store, vault, webhooks, resolver),
            config,
            rate_limiter,
            openapi: Default::default(),
            openapi_builder: openapi::document,
            rendered: Default::default(),
        }))
    }

    pub fn links(&self) -> wire::Links<'_> {
        wire::Links { public_url: &self.config.public_url }
    }
}

/// What the credential and SCA checks need of the route a request matched: attached to each
/// route when the router is built ([`router`]), so nothing is looked up by path at request
/// time. A `/v2` request without one is refused (a route cannot be served open by mistake).
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    pub scope: Option<&'static str>,
    pub sca: Option<v2::sca::ScaAction>,
}

/// The whole application, built from [`routes::operations`].
pub fn router(state: AppState) -> Router {
    let served = routes::Served::of(&state.config);
    let mut groups: Vec<(Surface, Router<AppState>)> = Vec::new();
    for (op, handler) in routes::operations() {
        if !served.surface(op.surface) {
            continue;
        }
        let handler = with_operation_layers(&op, handler, &state)
            .layer(axum::Extension(RouteRule { scope: op.scope, sca: op.sca }));
        // Every route also answers with a trailing slash: an official SDK sends
        // `GET /v2/organization/` (spec §1.1).
        let mut group = Router::new().route(op.path, handler.clone()).route(&format!("{}/", op.path), handler.clone());
        if let Some(alias) = op.alias.filter(|_| served.aliases()) {
            group = group.route(alias, handler.clone()).route(&format!("{alias}/"), handler);
        }
        match groups.iter_mut().find(|(surface, _)| *surface == op.surface) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(group),
            None => groups.push((op.surface, group)),
        }
    }
    let mut app = Router::new();
    for (surface, group) in groups {
        app = app.merge(with_surface_layers(surface, group, &state));
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), http::context::request_context))
        .with_state(state)
}

/// Qonto's writes honour idempotency keys. The layer wraps those handlers only: every layer
/// costs each request it sees a boxed future and a clone of the service under it, and reads
/// have no use for this one.
fn with_operation_layers(
    op: &routes::Operation,
    handler: axum::routing::MethodRouter<AppState>,
    state: &AppState,
) -> axum::routing::MethodRouter<AppState> {
    match op.takes_idempotency_keys() {
        true => handler.layer(middleware::from_fn_with_state(state.clone(), http::idempotency::idempotency)),
        false => handler,
    }
}

/// The layers of each surface: `/v2` checks the staging token when one is configured (the
/// mocked SCA routes are under `/v2` too).
fn with_surface_layers(surface: Surface, group: Router<AppState>, state: &AppState) -> Router<AppState> {
    match (surface, state.config.staging_token_hash) {
        (Surface::Qonto | Surface::MockedSca, Some(_)) => {
            group.route_layer(middleware::from_fn_with_state(state.clone(), http::auth::require_staging_token))
        }
        // Without a staging token the layer would only pass requests on.
        _ => group,
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not accept this method")
}
