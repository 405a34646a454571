//! What every handler shares: the configuration, the application core, the rate limiter, and
//! the rule of the route a request matched.

use crate::http::error::{ApiError, ApiResult};
use crate::http::rate_limit::{RateLimiter, RateLimits};
use crate::render::cards::RenderedCards;
use cardinal_app::sca::ScaAction;
use cardinal_app::secrets::{hash_secret, CardVault};
use cardinal_app::webhooks::address::{AddressPolicy, HostResolver, SystemResolver};
use cardinal_app::{App, Mode, WebhookPolicy};
use cardinal_store::{Organization, Store};
use cardinal_wire::Links;
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
    pub rate_limits: RateLimits,
    /// How webhooks are delivered (retries, the addresses they may dial, when a failing
    /// receiver is slowed and disabled): handed to the application core as it is, and read
    /// there (`state.webhooks`).
    pub webhooks: WebhookPolicy,
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
            rate_limits: RateLimits::default(),
            webhooks: WebhookPolicy {
                retry_delays: cardinal_app::webhooks::delivery::RETRY_DELAYS.to_vec(),
                addresses: AddressPolicy::new(mode, Vec::new()),
                health: cardinal_store::HealthRules::default(),
            },
        }
    }
}

/// What every handler shares. Axum clones the state for each extractor of each request, so
/// it is one pointer: cloning it is one atomic increment, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// Builds the OpenAPI document of the routes a router serves.
pub type OpenApiSource = Box<dyn Fn() -> serde_json::Value + Send + Sync>;

/// What handlers share beside the application core, which it derefs to (`state.store`,
/// `state.vault` are the core's).
pub struct Shared {
    /// The application core: store, card-data vault, webhook policy, resolver.
    pub app: App,
    pub config: ApiConfig,
    pub rate_limiter: RateLimiter,
    /// The OpenAPI document of the routes this state is served with, built on first request by
    /// what the router left in `openapi_source` (the state knows no route table).
    pub openapi: std::sync::OnceLock<serde_json::Value>,
    pub openapi_source: std::sync::OnceLock<OpenApiSource>,
    pub rendered: RenderedCards,
    /// The console's signed-in sessions (sandbox mode).
    pub console: crate::http::session::ConsoleSessions,
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
        AppState::with_resolver(store, config, vault, Arc::new(SystemResolver))
    }

    /// With another resolver of callback hosts (tests script DNS answers with one).
    pub fn with_resolver(
        store: Arc<dyn Store>,
        config: ApiConfig,
        vault: CardVault,
        resolver: Arc<dyn HostResolver>,
    ) -> AppState {
        let rate_limiter = RateLimiter::new(config.rate_limits.clone());
        AppState(Arc::new(Shared {
            app: App::new(store, vault, config.webhooks.clone(), resolver, config.public_url.clone()),
            config,
            rate_limiter,
            openapi: Default::default(),
            openapi_source: Default::default(),
            rendered: Default::default(),
            console: Default::default(),
        }))
    }

    pub fn links(&self) -> Links<'_> {
        Links { public_url: &self.config.public_url }
    }
}

/// What the credential and SCA checks need of the route a request matched: attached to each
/// route when the router is built (see the router), so nothing is looked up by path at request
/// time. A `/v2` request without one is refused (a route cannot be served open by mistake).
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    pub scope: Option<&'static str>,
    pub sca: Option<ScaAction>,
    /// The route's template in the table (`/v2/cards/{id}`).
    pub path: &'static str,
}

impl AppState {
    /// The organization a path names; a malformed id is a 404 like an unknown one.
    pub async fn organization_named(&self, raw: &str) -> ApiResult<Organization> {
        let not_found = || ApiError::not_found("organization");
        let id = uuid::Uuid::parse_str(raw).map_err(|_| not_found())?;
        self.store.organization(id).await?.ok_or_else(not_found)
    }
}
