//! Every change to an existing card, by a member or by the system, is committed here: in the
//! card's transaction, on the card as it is locked, the change is applied, and if it changed
//! anything the card, its audit event and its webhook events (the outbox) commit together,
//! with the SCA session a member's change spends ([`cardinal_store::CardWrite`]).
//!
//! - [`by_member`]: a member's lifecycle action or settings change (lock, unlock, lost,
//!   stolen, discard, limits, nickname, options, restrictions): the permission table first,
//!   then the SCA verdict, the domain transition and the card's validation;
//! - [`by_system`]: what the system does (system locks, activation, expiry), typed as a
//!   [`SystemChange`], with no role and no SCA.

use crate::cards::member::Member;
use crate::issuing::audit::{audit_event, changed_fields, verb};
use crate::issuing::events::{card_event, card_outbox, status_event};
use crate::App;
use cardinal_domain::card::{Outcome, Status, SystemLockReason};
use cardinal_domain::{rules, Card, CardAction, DomainError, Transition};
use cardinal_store::{Actor, ActorKind, CardWrite, ScaRedemption, StoreResult, StoredCard};
use jiff::Timestamp;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// What a member's change does to the card at `now`.
pub trait CardRule: FnMut(&mut Card, Timestamp) -> Result<(), DomainError> + Send + 'static {}
impl<R: FnMut(&mut Card, Timestamp) -> Result<(), DomainError> + Send + 'static> CardRule for R {}

/// The domain transition of a lifecycle action.
pub fn transition(transition: Transition) -> impl CardRule {
    move |card: &mut Card, now| card.apply(transition, now).map(|_| ())
}

/// A settings change: any card not in a terminal state (spec §2.2).
pub fn settings(action: CardAction, mut update: impl FnMut(&mut Card) + Send + 'static) -> impl CardRule {
    move |card: &mut Card, now| {
        card.ensure_not_terminal(action, now)?;
        update(card);
        Ok(())
    }
}

/// Where a change comes from: the request that made it (its id is the audit event's) and the
/// organization's clock.
#[derive(Debug, Clone)]
pub struct Origin {
    pub now: Timestamp,
    pub request_id: String,
}

/// Which card a member changes, by which action, and what the SCA step said.
pub struct MemberChange {
    pub organization: Uuid,
    pub card: Uuid,
    pub member: Member,
    pub action: CardAction,
    /// `Some(session to spend)` when the SCA step passed; `None` stops after the permission
    /// check, writing nothing.
    pub sca: Option<Option<ScaRedemption>>,
}

/// A member's change. A rule that changes nothing writes no card and no event (the session is
/// still spent).
pub async fn by_member(
    app: &App,
    change: MemberChange,
    mut rule: impl CardRule,
    origin: Origin,
) -> StoreResult<StoredCard> {
    let MemberChange { organization: org, card: id, member, action, sca } = change;
    let Origin { now, request_id } = origin;
    app.store
        .update_card(
            org,
            id,
            Box::new(move |stored| {
                member.may(action, stored)?;
                let Some(redeems_sca) = sca else { return Ok(CardWrite::NOTHING) };
                let before = stored.card.clone();
                rule(&mut stored.card, now)?;
                if stored.card == before {
                    return Ok(CardWrite { redeems_sca, ..CardWrite::NOTHING });
                }
                stored.card.updated_at = now;
                let issues = rules::check_card(&stored.card);
                if !issues.is_empty() {
                    return Err(DomainError::InvalidCard(issues));
                }
                let record = Record {
                    verb: verb(action),
                    from: before.status(now),
                    changes: changed_fields(&before, &stored.card, now),
                    webhook: card_event(action),
                };
                Ok(CardWrite { redeems_sca, ..record.write(&stored.card, member.actor.clone(), now, &request_id) })
            }),
        )
        .await
}

/// What the system does to a card: no member, no role, no SCA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemChange {
    /// A lock only the system lifts (`fraud_suspicion`, …); `/unlock` leaves it.
    AddLock(SystemLockReason),
    /// Lifting a system lock; lifting one the card does not have changes nothing.
    RemoveLock(SystemLockReason),
    /// A pending physical card becomes live, its PIN set.
    Activate,
    /// The organization's clock passed the card's expiry: the expiry is stored.
    Expire,
}

impl SystemChange {
    /// Applies the change; `Unchanged` writes nothing.
    fn apply(&self, card: &mut Card, now: Timestamp) -> Result<Outcome, DomainError> {
        match self {
            SystemChange::AddLock(reason) => card.add_system_lock(reason.clone(), now),
            SystemChange::RemoveLock(reason) => Ok(card.remove_system_lock(reason, now).unwrap_or(Outcome::Unchanged)),
            SystemChange::Activate => card.apply(Transition::Activate, now),
            SystemChange::Expire => Ok(card.settle_expiry(now)),
        }
    }

    /// The status the change starts from, as its audit event records it (an expiry starts
    /// from the status the card had before its expiry showed).
    fn from(&self, card: &Card, now: Timestamp) -> Status {
        match self {
            SystemChange::Expire => card.status_ignoring_expiry(),
            _ => card.status(now),
        }
    }

    /// The audit verb, its `changes`, and the `cards.*` webhook event, once applied.
    fn record(&self, from: Status, card: &Card, now: Timestamp) -> Record {
        let (verb, changes, webhook) = match self {
            SystemChange::AddLock(reason) => {
                ("system_lock", json!({"system_lock_added": reason.as_str()}), status_event(from, card.status(now)))
            }
            SystemChange::RemoveLock(reason) => {
                ("system_unlock", json!({"system_lock_removed": reason.as_str()}), status_event(from, card.status(now)))
            }
            SystemChange::Activate => ("activate", json!({"pin_set": true}), card_event(CardAction::Activate)),
            SystemChange::Expire => ("expire", json!({}), Some("expired")),
        };
        Record { verb, from, changes, webhook }
    }
}

/// The system's change of card `id` of `org`; also whether this call changed it (a retried
/// transaction runs the change again: the last run says).
pub async fn by_system(
    app: &App,
    org: Uuid,
    id: Uuid,
    change: SystemChange,
    origin: Origin,
) -> StoreResult<(StoredCard, bool)> {
    let Origin { now, request_id } = origin;
    let changed_here = Arc::new(AtomicBool::new(false));
    let flag = changed_here.clone();
    let stored = app
        .store
        .update_card(
            org,
            id,
            Box::new(move |stored| {
                let from = change.from(&stored.card, now);
                let changed = change.apply(&mut stored.card, now)? == Outcome::Changed;
                flag.store(changed, Ordering::Relaxed);
                if !changed {
                    return Ok(CardWrite::NOTHING);
                }
                let system = Actor { kind: ActorKind::System, id: None };
                Ok(change.record(from, &stored.card, now).write(&stored.card, system, now, &request_id))
            }),
        )
        .await?;
    Ok((stored, changed_here.load(Ordering::Relaxed)))
}

/// What a change records, whoever made it.
struct Record {
    verb: &'static str,
    from: Status,
    changes: Value,
    /// The `cards.*` event to send, if Qonto names one for this change.
    webhook: Option<&'static str>,
}

impl Record {
    /// The card's audit event and outbox rows, as the change's transaction writes them.
    fn write(self, card: &Card, actor: Actor, now: Timestamp, request_id: &str) -> CardWrite {
        let event = audit_event(card, self.verb, actor, Some(self.from), now, request_id, self.changes);
        CardWrite { event: Some(event), events: card_outbox(card, self.webhook, now), redeems_sca: None }
    }
}
