//! Expiry. A card reads as `expired` from the moment its organization's clock passes its
//! `expires_at`, with nothing written; the first read that shows it so, or the clock move that
//! makes it so, stores the expiry as a card change of its own: the `expired` lifecycle, its
//! audit event and its `cards.expired` webhook event, in one transaction, once (spec §7).

use crate::issuing::audit::audit_event;
use crate::issuing::events::card_outbox;
use crate::AppState;
use cardinal_domain::card::Outcome;
use cardinal_domain::DomainError;
use cardinal_store::{Actor, ActorKind, CardWrite, StoreError, StoreResult};
use jiff::Timestamp;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::task::JoinSet;
use uuid::Uuid;

/// How many cards one pass of a sweep settles (each its own transaction, all at once, so the
/// store can group their commits).
const SWEEP_BATCH: u32 = 256;

/// Stores the expiry of these cards of `org` where it is due at `now`; a card whose expiry
/// another request stored meanwhile is left as it is. Returns how many were stored.
pub async fn settle(state: &AppState, org: Uuid, now: Timestamp, cards: Vec<Uuid>) -> usize {
    let mut changes = JoinSet::new();
    for card in cards {
        let state = state.clone();
        changes.spawn(async move { settle_one(&state, org, card, now).await });
    }
    let mut settled = 0;
    while let Some(done) = changes.join_next().await {
        match done {
            Ok(Ok(true)) => settled += 1,
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "storing a card's expiry failed; the next read retries it"),
            Err(e) => tracing::warn!(error = %e, "storing a card's expiry stopped"),
        }
    }
    settled
}

/// Every card of `org` the clock has expired at `now`, in passes: after the clock moves.
pub async fn sweep(state: &AppState, org: Uuid, now: Timestamp) -> StoreResult<usize> {
    let mut settled = 0;
    loop {
        let due = state.store.cards_due_to_expire(org, now, SWEEP_BATCH).await?;
        if due.is_empty() {
            break;
        }
        let stored = settle(state, org, now, due).await;
        settled += stored;
        if stored > 0 {
            tracing::info!(organization = %org, cards = settled, "stored card expiries");
        } else {
            break; // none could be stored now (each failure is logged); a later read retries
        }
    }
    Ok(settled)
}

/// True when this call stored the expiry.
async fn settle_one(state: &AppState, org: Uuid, card: Uuid, now: Timestamp) -> StoreResult<bool> {
    let request_id = crate::http::trace::request_id();
    // Set by the change's last run (a backend may run it again on a retried transaction).
    let stored_here = Arc::new(AtomicBool::new(false));
    let flag = stored_here.clone();
    let change = state
        .store
        .update_card(
            org,
            card,
            Box::new(move |stored| {
                let from = stored.card.status_ignoring_expiry();
                let changed = stored.card.settle_expiry(now) == Outcome::Changed;
                flag.store(changed, Ordering::Relaxed);
                if !changed {
                    return Ok(CardWrite::NOTHING);
                }
                let system = Actor { kind: ActorKind::System, id: None };
                let event = audit_event(&stored.card, "expire", system, Some(from), now, &request_id, json!({}));
                let events = card_outbox(&stored.card, Some("expired"), now);
                Ok(CardWrite { event: Some(event), events, redeems_sca: None })
            }),
        )
        .await;
    match change {
        Ok(_) => Ok(stored_here.load(Ordering::Relaxed)),
        Err(StoreError::Domain(DomainError::NotFound)) => Ok(false),
        Err(e) => Err(e),
    }
}
