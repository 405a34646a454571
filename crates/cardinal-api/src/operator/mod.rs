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

use crate::http::error::{ApiError, ApiResult};
use crate::AppState;
use cardinal_store::Organization;

/// The organization a path names; a malformed id is a 404 like an unknown one.
pub(crate) async fn organization_of(state: &AppState, raw: &str) -> ApiResult<Organization> {
    let not_found = || ApiError::not_found("organization");
    let id = uuid::Uuid::parse_str(raw).map_err(|_| not_found())?;
    state.store.organization(id).await?.ok_or_else(not_found)
}
