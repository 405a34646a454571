//! Audit events: what every card change records, in Qonto's names and units.

use crate::wire;
use cardinal_domain::card::Status;
use cardinal_domain::{Card, CardAction};
use cardinal_store::{Actor, AuditEvent};
use jiff::Timestamp;
use serde::Serialize;

/// `{field: [before, after]}`, in Qonto's names and units, for every field an update or a
/// lifecycle action can change. Compared on the domain card: it runs on the write path.
pub fn changed_fields(before: &Card, after: &Card, now: Timestamp) -> serde_json::Value {
    fn note<T: PartialEq + Serialize>(
        changes: &mut serde_json::Map<String, serde_json::Value>,
        name: &str,
        old: T,
        new: T,
    ) {
        if old != new {
            changes.insert(name.to_owned(), serde_json::json!([old, new]));
        }
    }
    let mut c = serde_json::Map::new();
    note(&mut c, "status", before.status(now).as_str(), after.status(now).as_str());
    note(
        &mut c,
        "has_only_user_liftable_locks",
        before.has_only_user_liftable_locks(),
        after.has_only_user_liftable_locks(),
    );
    note(&mut c, "nickname", &before.nickname, &after.nickname);
    note(&mut c, "pin_set", before.pin_set, after.pin_set);
    let (o, n) = (&before.options, &after.options);
    note(&mut c, "atm_option", o.atm, n.atm);
    note(&mut c, "nfc_option", o.nfc, n.nfc);
    note(&mut c, "online_option", o.online, n.online);
    note(&mut c, "foreign_option", o.foreign, n.foreign);
    let (o, n) = (&before.limits, &after.limits);
    let euros = wire::Euros;
    note(&mut c, "atm_monthly_limit", euros(o.atm_monthly), euros(n.atm_monthly));
    note(&mut c, "atm_daily_limit", euros(o.atm_daily), euros(n.atm_daily));
    note(&mut c, "atm_daily_limit_option", o.atm_daily_option, n.atm_daily_option);
    note(&mut c, "payment_monthly_limit", euros(o.payment_monthly), euros(n.payment_monthly));
    note(&mut c, "payment_daily_limit", euros(o.payment_daily), euros(n.payment_daily));
    note(&mut c, "payment_daily_limit_option", o.payment_daily_option, n.payment_daily_option);
    note(&mut c, "payment_transaction_limit", euros(o.payment_transaction), euros(n.payment_transaction));
    note(&mut c, "payment_transaction_limit_option", o.payment_transaction_option, n.payment_transaction_option);
    note(&mut c, "payment_lifespan_limit", o.payment_lifespan.map(euros), n.payment_lifespan.map(euros));
    note(&mut c, "active_days", &before.active_days, &after.active_days);
    note(&mut c, "categories", &before.categories, &after.categories);
    serde_json::Value::Object(c)
}

/// The action name audit events record.
pub fn verb(action: CardAction) -> &'static str {
    match action {
        CardAction::ReportLost => "lost",
        CardAction::ReportStolen => "stolen",
        other => other.as_str(),
    }
}

/// An audit event for a change already applied to `card`.
pub fn audit_event(
    card: &Card,
    action: &str,
    actor: Actor,
    from: Option<Status>,
    now: Timestamp,
    request_id: &str,
    changes: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: crate::ids::time_ordered(),
        card_id: card.id,
        action: action.to_owned(),
        actor,
        from_status: from,
        to_status: card.status(now),
        changes,
        request_id: request_id.to_owned(),
        at: now,
    }
}
