//! Strong customer authentication: which card actions need it (spec §1.8), in Qonto's names;
//! sessions opened, answered as the member's phone would, and watched while pending
//! ([`changes`]).

pub mod changes;

use crate::secrets::{hash_secret, new_token};
use crate::App;
use cardinal_store::{ScaResult, ScaSession, StoreResult};
use jiff::Timestamp;
use uuid::Uuid;

/// The sensitive actions of the card surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaAction {
    CreateCard,
    BulkCreateCards,
    UpdateLimits,
    Unlock,
}

impl ScaAction {
    pub fn action_type(self) -> &'static str {
        match self {
            ScaAction::CreateCard => "card.create",
            ScaAction::BulkCreateCards => "card.bulk_create",
            ScaAction::UpdateLimits => "card.limits_update",
            ScaAction::Unlock => "card.unlock",
        }
    }
}

/// How long a member has to answer a session (Qonto: 15 minutes).
pub const LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// How many waiting sessions a pending list shows: a phone shows the newest few.
pub const PENDING_SHOWN: u32 = 50;

/// What opens a session: whose request, for which action, and the request's fingerprint the
/// approval will cover.
pub struct Challenge {
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub action: ScaAction,
    pub request_hash: [u8; 32],
    /// The organization's clock.
    pub now: Timestamp,
}

/// Opens a waiting session and returns its token (shown to the caller once, stored hashed);
/// pending lists watching the organization hear of it.
pub async fn open(app: &App, challenge: Challenge) -> StoreResult<String> {
    let token = new_token();
    let Challenge { organization_id, membership_id, action, request_hash, now } = challenge;
    app.store
        .insert_sca_session(ScaSession {
            token_hash: hash_secret(&token),
            organization_id,
            membership_id,
            action_type: action.action_type().to_owned(),
            request_hash,
            result: ScaResult::Waiting,
            created_at: now,
            expires_at: now.saturating_add(LIFETIME).unwrap_or(Timestamp::MAX),
            consumed_at: None,
        })
        .await?;
    app.sca_changes.announce(organization_id);
    Ok(token)
}

/// The member's answer to a waiting session, as their phone gives it (the mocked route, the
/// console). A session is decided once: the session as it stands, or `None` if unknown.
pub async fn decide(app: &App, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>> {
    let session = app.store.decide_sca_session(token_hash, result).await?;
    if let Some(session) = &session {
        app.sca_changes.announce(session.organization_id);
    }
    Ok(session)
}

/// An organization's sessions waiting for an answer, newest first.
pub async fn waiting(app: &App, organization_id: Uuid, now: Timestamp) -> StoreResult<Vec<ScaSession>> {
    app.store.waiting_sca_sessions(organization_id, now, PENDING_SHOWN).await
}
