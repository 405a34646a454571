//! The HTTP stage every request passes before and after a resource's handler: request
//! context and trace ids, errors in Qonto's shape, body and query parsing, rate limits,
//! idempotency keys, stalled bodies, the credential extractors, health.

pub mod auth;
pub mod body;
pub mod context;
pub mod drain;
pub mod error;
pub mod files;
pub mod form;
pub mod health;
pub mod idempotency;
pub mod json;
pub mod metrics;
pub mod params;
pub mod rate_limit;
pub mod request_log;
pub mod route_layer;
pub mod session;
pub mod stall;
pub mod state;
pub mod trace;
