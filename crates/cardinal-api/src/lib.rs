//! Cardinal's HTTP surface: the Qonto-compatible `/v2` API, the sandbox control API under
//! `/_sandbox`, card images, and health endpoints.

pub mod console;
pub mod http;
pub mod oauth;
pub mod openapi;
pub mod operator;
pub mod render;
mod router;
pub mod routes;
pub mod sandbox;
pub mod v2;
/// The application core every handler calls (and what it is made of, under the names the
/// handlers have always used).
pub use cardinal_app::{self as app, ids, issuing, net, secrets, spans, webhooks, App, Mode};
/// Qonto's JSON shapes, in a crate of their own (no server dependency).
pub use cardinal_wire as wire;

pub use http::state::{ApiConfig, AppState, RouteRule, Shared};
pub use router::router;
