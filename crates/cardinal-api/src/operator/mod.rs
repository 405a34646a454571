//! The operator API under `/_operator/` (both modes): provision organizations with their bank
//! accounts, members, teams, access tokens and API keys; put system locks on cards and
//! activate them; see and retry webhook deliveries. Authenticated with the operator token
//! ([`crate::http::auth::Operator`]); in the sandbox its provisioning routes also answer at
//! their former `/_sandbox/…` paths.

pub mod cards;
pub mod members;
pub mod organizations;
pub mod tokens;
pub mod webhooks;
