//! The webhook events card changes report (`v1/cards`): which action Qonto names an event
//! for, and the outbox row that carries it in the change's transaction.

use crate::wire::webhooks::{deferred_outbox_event, CardEventData, CARDS_TOPIC};
use cardinal_domain::card::Status;
use cardinal_domain::{Card, CardAction};
use cardinal_store::OutboxEvent;
use jiff::Timestamp;

/// The `data.event` of the `cards.*` event Qonto sends for a change by `action`, if any.
/// Lost and stolen reports have none in Qonto's list; a system lock reads as `locked` and
/// `unlocked` by the status it leaves (see [`status_event`]).
pub fn card_event(action: CardAction) -> Option<&'static str> {
    Some(match action {
        CardAction::Create => "created",
        CardAction::Activate => "activated",
        CardAction::Lock => "locked",
        CardAction::Unlock => "unlocked",
        CardAction::Discard => "discarded",
        CardAction::UpdateLimits => "limits_updated",
        CardAction::UpdateNickname => "nickname_updated",
        CardAction::UpdateOptions => "options_updated",
        CardAction::UpdateRestrictions => "restrictions_updated",
        CardAction::See | CardAction::ViewData | CardAction::ReportLost | CardAction::ReportStolen => return None,
        CardAction::SystemLock => return None,
    })
}

/// A status change that is a lock or an unlock, whoever made it.
pub fn status_event(from: Status, to: Status) -> Option<&'static str> {
    match (from, to) {
        (Status::Live, Status::Paused) => Some("locked"),
        (Status::Paused, Status::Live) => Some("unlocked"),
        _ => None,
    }
}

/// The outbox rows for `card` after a change named `event` (none when `event` is `None`).
pub fn card_outbox(card: &Card, event: Option<&'static str>, now: Timestamp) -> Vec<OutboxEvent> {
    let Some(name) = event else { return Vec::new() };
    let shown = card.clone();
    let data = move || CardEventData::of(&shown, name, now);
    vec![deferred_outbox_event(card.organization_id, CARDS_TOPIC, card.id, data, now)]
}
