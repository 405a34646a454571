//! The sandbox console (spec §10): server-rendered pages at `/console`, one more door on the
//! application core. Each action parses its form into the same request the API takes, checks
//! it with the same schema, and calls the same handler or use case, so the console can never
//! do what the API refuses; what it refuses is shown as the API's own `errors[]`.
//!
//! - [`auth`]: signing in with the admin token, the session cookie, CSRF on every form;
//! - [`layout`]: the page shell, navigation, notices, and the strict Content-Security-Policy;
//! - [`organizations`]: the list, creation, and an organization's page (members, tokens,
//!   cards with their limits as bars, the clock);
//! - [`cards`]: a card (lock, unlock, system locks, a simulated payment, its timeline and
//!   transactions);
//! - [`sca`]: pending SCA sessions, approved or denied as the member's phone would, live;
//! - [`requests`]: the organization's request log, filtered, live;
//! - [`webhooks`], [`oauth`]: subscriptions and deliveries (retry), OAuth clients;
//! - [`reference`]: the API reference, rendered from `/openapi.json` by vendored Swagger UI.
//!
//! Served in sandbox mode only: a production server answers 404 on every console path.

mod assets;
mod auth;
mod cards;
mod forms;
mod layout;
mod oauth;
mod organizations;
mod reference;
mod requests;
mod sca;
mod webhooks;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

/// The console's routes (sandbox mode only; the caller decides).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(organizations::list))
        .route("/console/", get(organizations::list))
        .route("/console/sign-in", get(auth::sign_in_page).post(auth::sign_in))
        .route("/console/sign-out", post(auth::sign_out))
        .route("/console/assets/{file}", get(assets::asset))
        .route("/console/reference", get(reference::page))
        .route("/console/oauth", get(oauth::page))
        .route("/console/organizations", post(organizations::create))
        .route("/console/organizations/{org}", get(organizations::show))
        .route("/console/organizations/{org}/members", post(organizations::add_member))
        .route("/console/organizations/{org}/members/{member}/token", post(organizations::issue_token))
        .route("/console/organizations/{org}/clock", post(organizations::advance_clock))
        .route("/console/organizations/{org}/sca", get(sca::pending))
        .route("/console/organizations/{org}/sca/stream", get(sca::stream))
        .route("/console/organizations/{org}/sca/{session}/{decision}", post(sca::decide))
        .route("/console/organizations/{org}/cards/{card}", get(cards::show))
        .route("/console/organizations/{org}/cards/{card}/{action}", post(cards::act))
        .route("/console/organizations/{org}/requests", get(requests::page))
        .route("/console/organizations/{org}/requests/stream", get(requests::stream))
        .route("/console/organizations/{org}/webhooks", get(webhooks::page))
        .route("/console/organizations/{org}/webhooks/deliveries/{delivery}", get(webhooks::delivery))
        .route("/console/organizations/{org}/webhooks/deliveries/{delivery}/retry", post(webhooks::retry))
}
