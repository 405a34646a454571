//! Expiry. A card reads as `expired` from the moment its organization's clock passes its
//! `expires_at`, with nothing written; the first read that shows it so, or the clock move that
//! makes it so, stores the expiry as a card change of its own: the `expired` lifecycle, its
//! audit event and its `cards.expired` webhook event, in one transaction, once (spec §7).

use crate::cards::change::{by_system, Origin, SystemChange};
use crate::App;
use cardinal_domain::DomainError;
use cardinal_store::{StoreError, StoreResult};
use tokio::task::JoinSet;
use uuid::Uuid;

/// How many cards one pass of a sweep settles (each its own transaction, all at once, so the
/// store can group their commits).
const SWEEP_BATCH: u32 = 256;

/// Stores the expiry of these cards of `org` where it is due at `origin.now`; a card whose
/// expiry another request stored meanwhile is left as it is. Returns how many were stored.
pub async fn settle(app: &App, org: Uuid, origin: &Origin, cards: Vec<Uuid>) -> usize {
    let mut changes = JoinSet::new();
    for card in cards {
        let (app, origin) = (app.clone(), origin.clone());
        changes.spawn(async move { settle_one(&app, org, card, origin).await });
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

/// Every card of `org` the clock has expired at `origin.now`, in passes: after the clock moves.
pub async fn sweep(app: &App, org: Uuid, origin: &Origin) -> StoreResult<usize> {
    let mut settled = 0;
    loop {
        let due = app.store.cards_due_to_expire(org, origin.now, SWEEP_BATCH).await?;
        if due.is_empty() {
            break;
        }
        let stored = settle(app, org, origin, due).await;
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
async fn settle_one(app: &App, org: Uuid, card: Uuid, origin: Origin) -> StoreResult<bool> {
    match by_system(app, org, card, SystemChange::Expire, origin).await {
        Ok((_, stored_here)) => Ok(stored_here),
        Err(StoreError::Domain(DomainError::NotFound)) => Ok(false),
        Err(e) => Err(e),
    }
}
