//! The whole application as axum serves it, built from the route table
//! ([`crate::routes::operations`]): each route with its layers and its rule.

use crate::http::state::{AppState, RouteRule};
use crate::http::{self, error::ApiError};
use crate::routes::{self, Served, Surface};
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::{middleware, Router};

/// The whole application, built from [`routes::operations`].
pub fn router(state: AppState) -> Router {
    let served = Served::of(&state.config);
    // Built on first request, not here: tests build a router per request.
    let url = state.config.public_url.clone();
    let _ = state.openapi_source.set(Box::new(move || {
        let table: Vec<routes::Operation> = routes::operations().into_iter().map(|(op, _)| op).collect();
        crate::openapi::document(&table, served, &url)
    }));
    let mut groups: Vec<(Surface, Router<AppState>)> = Vec::new();
    for (op, handler) in routes::operations() {
        if !served.surface(op.surface) {
            continue;
        }
        let rule = RouteRule { scope: op.scope, sca: op.sca, path: op.path };
        let series = http::metrics::series_of(op.method, op.path);
        let handler = with_operation_layers(&op, handler, &state).layer(http::route_layer::RouteLayer { rule, series });
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
    // The console and `/` are pages for people, not API routes: they are not in the table,
    // nor in the OpenAPI document. A production server has no console (its paths are 404).
    app = app.route("/", axum::routing::get(http::health::index));
    if state.config.mode == crate::Mode::Sandbox {
        app = app.merge(crate::console::router());
    }
    app.fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), http::context::request_context))
        .with_state(state)
}

/// Uploads take bigger bodies; Qonto's writes honour idempotency keys. The layers wrap those
/// handlers only (the route's own layer wraps them all, see [`http::route_layer`]): every layer
/// costs each request it sees a boxed future and a clone of the service under it, and reads
/// have no use for this one.
fn with_operation_layers(
    op: &routes::Operation,
    handler: axum::routing::MethodRouter<AppState>,
    state: &AppState,
) -> axum::routing::MethodRouter<AppState> {
    let handler = match op.upload {
        true => handler.layer(DefaultBodyLimit::max(http::files::UPLOAD_BODY_LIMIT)),
        false => handler,
    };
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
    http::metrics::UNMATCHED.count(StatusCode::NOT_FOUND);
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> ApiError {
    http::metrics::UNMATCHED.count(StatusCode::METHOD_NOT_ALLOWED);
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not accept this method")
}
