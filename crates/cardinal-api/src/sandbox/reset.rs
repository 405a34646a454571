//! `POST /_sandbox/organizations/{id}/reset`: a sandbox organization back to how it was
//! seeded, so a test suite can start each run from the same state without making a new
//! organization (and new tokens) each time.
//!
//! When a sandbox organization is created, a snapshot of its seeded cards (sealed numbers
//! included, so each card keeps its number) and of its accounts' balances is stored with it.
//! A reset removes every card, transaction, audit event, SCA session, data-view link and
//! webhook event of the organization, puts the seeded cards back exactly as they were, the
//! balances too, and sets the organization's clock back to real time. Members, teams, access
//! tokens, the API key and webhook subscriptions stay.

use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::issuing::audit::audit_event;
use crate::wire::operator::Reset;
use crate::wire::Time;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cardinal_domain::{Card, Cents};
use cardinal_store::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// What is kept of a seeded organization to reset it to.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    cards: Vec<SnapshotCard>,
    /// (bank account, balance in cents).
    balances: Vec<(Uuid, i64)>,
}

/// A seeded card with its sealed secrets (base64): the card keeps its number after a reset.
#[derive(Serialize, Deserialize)]
struct SnapshotCard {
    card: Card,
    pan: String,
    cvv: String,
    fingerprint: String,
}

/// The snapshot of a new organization's seeded cards and accounts, stored with it.
pub fn snapshot_of(cards: &[NewCard], accounts: &[&BankAccount]) -> String {
    let snapshot = Snapshot {
        cards: cards
            .iter()
            .map(|new| SnapshotCard {
                card: new.card.clone(),
                pan: STANDARD.encode(&new.secrets.pan_ciphertext),
                cvv: STANDARD.encode(&new.secrets.cvv_ciphertext),
                fingerprint: STANDARD.encode(new.secrets.pan_fingerprint),
            })
            .collect(),
        balances: accounts.iter().map(|a| (a.id, a.balance.0)).collect(),
    };
    // Plain data: serializing it cannot fail.
    serde_json::to_string(&snapshot).unwrap_or_default()
}

/// What a stored snapshot resets the organization to; each card's trail starts again with a
/// `reset` event. `None` for a snapshot that does not read back (never written by this code).
fn reset_from(text: &str, request_id: &str) -> Option<OrganizationReset> {
    let snapshot: Snapshot = serde_json::from_str(text).ok()?;
    let mut cards = Vec::with_capacity(snapshot.cards.len());
    let mut events = Vec::with_capacity(snapshot.cards.len());
    let now = jiff::Timestamp::now();
    for saved in snapshot.cards {
        let secrets = CardSecrets {
            pan_ciphertext: STANDARD.decode(&saved.pan).ok()?,
            cvv_ciphertext: STANDARD.decode(&saved.cvv).ok()?,
            pan_fingerprint: STANDARD.decode(&saved.fingerprint).ok()?.try_into().ok()?,
        };
        let system = Actor { kind: ActorKind::System, id: None };
        events.push(audit_event(&saved.card, "reset", system, None, now, request_id, json!({})));
        cards.push(NewCard { card: saved.card, secrets });
    }
    let balances = snapshot.balances.into_iter().map(|(account, cents)| (account, Cents(cents))).collect();
    Some(OrganizationReset { cards, events, balances })
}

/// `POST /_sandbox/organizations/{id}/reset` → `{"organization_id", "cards", "now"}`.
pub async fn reset(State(state): State<AppState>, _: Operator, Path(raw): Path<String>) -> ApiResult<Json<Reset>> {
    let organization = state.organization_named(&raw).await?;
    let no_seed = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_state",
            "this organization has no seeded state to reset to (it was created before resets existed, or not in the sandbox)",
        )
    };
    let snapshot = state.store.organization_snapshot(organization.id).await?.ok_or_else(no_seed)?;
    let request_id = crate::http::trace::request_id();
    let reset = reset_from(&snapshot, &request_id).ok_or_else(no_seed)?;
    let cards = reset.cards.len();
    if !state.store.reset_organization(organization.id, reset).await? {
        return Err(ApiError::not_found("organization"));
    }
    let now = jiff::Timestamp::now();
    Ok(Json(Reset { organization_id: organization.id, cards, now: Time(now) }))
}
