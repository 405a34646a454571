//! Webhook payloads as Qonto sends them (`qonto-reference.md` §1): the envelope, the
//! `v1/cards` data (with its own names: `masked_pan`, `category_tags`, decimal-string limits)
//! and the `v1/transactions` data.

use super::Time;
use crate::Text;
use cardinal_domain::{Card, Cents};
use cardinal_store::{EventData, OutboxEvent, Transaction, TransactionStatus, WebhookSubscription};
use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

pub const CARDS_TOPIC: &str = "v1/cards";
pub const TRANSACTIONS_TOPIC: &str = "v1/transactions";
pub const MEMBERSHIPS_TOPIC: &str = "v1/memberships";

/// The `data` of a `v1/memberships` event (`qonto-reference.md` §1.5): the event and the
/// membership's fields, as `GET /v2/membership` shows them.
#[derive(Serialize)]
pub struct MembershipEventData<'a> {
    /// `created` (an invitation) or `updated`.
    pub event: Text,
    #[serde(flatten)]
    pub membership: &'a crate::MembershipDetail,
}
pub const CONSENT_REVOCATIONS_TOPIC: &str = "v1/consent-revocations";

/// The `data` of a `v1/consent-revocations` event (`qonto-reference.md` §1.5): the member
/// disconnected this application.
#[derive(Serialize)]
pub struct ConsentRevocationData {
    pub client_id: String,
    pub revoked_at: super::Time,
}

/// Every topic Qonto lists; only the store's `TOPICS_SENT` are ever delivered.
pub const TOPICS: [&str; 15] = [
    "v1/transactions",
    "v1/accounts",
    "v1/organizations",
    "v1/memberships",
    "v1/consent-revocations",
    "v1/cards",
    "v1/payment-links",
    "v1/payment-links-connections",
    "v1/beneficiaries",
    "v1/client-invoices",
    "v1/terminal-payments",
    "v1/clients",
    "v1/products",
    "v1/sepa-direct-debit-collections",
    "v1/sepa-direct-debit-mandates",
];

/// An amount as webhook payloads write it: a decimal string with two decimals (`"1000.00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecimalString(pub Cents);

impl Serialize for DecimalString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let cents = self.0 .0;
        let sign = if cents < 0 { "-" } else { "" };
        s.collect_str(&format_args!("{sign}{}.{:02}", (cents / 100).abs(), (cents % 100).abs()))
    }
}

/// The `data` of a `v1/cards` event.
#[derive(Serialize)]
pub struct CardEventData {
    /// `created`, `locked`, …: the event name's suffix (`cards.locked`).
    pub event: Text,
    pub id: Uuid,
    pub nickname: String,
    pub status: Text,
    pub masked_pan: String,
    pub exp_month: String,
    pub exp_year: String,
    pub atm_option: bool,
    pub nfc_option: bool,
    pub online_option: bool,
    pub foreign_option: bool,
    pub atm_daily_limit: DecimalString,
    pub atm_daily_limit_option: bool,
    pub atm_monthly_limit: DecimalString,
    pub payment_monthly_limit: DecimalString,
    pub payment_daily_limit: DecimalString,
    pub payment_daily_limit_option: bool,
    pub payment_transaction_limit: DecimalString,
    pub payment_transaction_limit_option: bool,
    pub payment_lifespan_limit: Option<DecimalString>,
    pub active_days: Vec<i8>,
    pub holder_id: Uuid,
    pub bank_account_id: Uuid,
    pub updated_at: Time,
    pub created_at: Time,
    pub card_type: Text,
    pub card_level: Text,
    pub category_tags: Vec<Text>,
    pub renewal: bool,
    pub upsell: bool,
    /// The day a discarded virtual card goes (`YYYY-MM-DD`), else null.
    pub discarded_at: Option<String>,
}

impl CardEventData {
    pub fn of(card: &Card, event: &'static str, now: Timestamp) -> CardEventData {
        let l = &card.limits;
        CardEventData {
            event: event.into(),
            id: card.id,
            nickname: card.nickname.clone(),
            status: card.status(now).as_str().into(),
            masked_pan: card.mask_pan(),
            exp_month: card.exp_month.to_string(),
            exp_year: card.exp_year.to_string(),
            atm_option: card.options.atm,
            nfc_option: card.options.nfc,
            online_option: card.options.online,
            foreign_option: card.options.foreign,
            atm_daily_limit: DecimalString(l.atm_daily),
            atm_daily_limit_option: l.atm_daily_option,
            atm_monthly_limit: DecimalString(l.atm_monthly),
            payment_monthly_limit: DecimalString(l.payment_monthly),
            payment_daily_limit: DecimalString(l.payment_daily),
            payment_daily_limit_option: l.payment_daily_option,
            payment_transaction_limit: DecimalString(l.payment_transaction),
            payment_transaction_limit_option: l.payment_transaction_option,
            payment_lifespan_limit: l.payment_lifespan.map(DecimalString),
            active_days: card.active_days.clone(),
            holder_id: card.holder_id,
            bank_account_id: card.bank_account_id,
            updated_at: Time(card.updated_at),
            created_at: Time(card.created_at),
            card_type: "debit".into(),
            card_level: card.level.as_str().into(),
            category_tags: card.categories.iter().map(|c| c.as_str().into()).collect(),
            renewal: card.flags.renewal,
            upsell: card.flags.upsell,
            discarded_at: card.discard_on.map(|d| d.to_string()),
        }
    }
}

/// The `data` of a `v1/transactions` event.
#[derive(Serialize)]
pub struct TransactionEventData {
    /// `created` or `updated`.
    pub event: Text,
    pub id: Uuid,
    pub transaction_id: String,
    pub amount: DecimalString,
    pub currency: String,
    pub local_amount: DecimalString,
    pub local_currency: String,
    pub side: String,
    pub settled_balance: Option<DecimalString>,
    pub operation_type: String,
    pub status: Text,
    pub label: String,
    pub clean_counterparty_name: String,
    pub note: Option<String>,
    pub reference: Option<String>,
    pub settled_at: Option<Time>,
    pub emitted_at: Time,
    pub created_at: Time,
    pub updated_at: Time,
    pub attachment_ids: Vec<String>,
    /// Capitalised in webhooks (`Card`), unlike the REST transaction.
    pub subject_type: Text,
    pub bank_account_id: Uuid,
    pub card_last_digits: String,
}

impl TransactionEventData {
    pub fn of(t: &Transaction, event: &'static str) -> TransactionEventData {
        TransactionEventData {
            event: event.into(),
            id: t.id,
            transaction_id: t.slug.clone(),
            amount: DecimalString(t.amount),
            currency: t.currency.clone(),
            local_amount: DecimalString(t.amount),
            local_currency: t.currency.clone(),
            side: t.side.clone(),
            settled_balance: t.settled_balance.map(DecimalString),
            operation_type: t.operation_type.clone(),
            status: match t.status {
                TransactionStatus::Pending => "pending".into(),
                TransactionStatus::Completed => "completed".into(),
                TransactionStatus::Reversed | TransactionStatus::Declined => "declined".into(),
            },
            label: t.label.clone(),
            clean_counterparty_name: t.label.clone(),
            note: None,
            reference: None,
            settled_at: t.settled_at.map(Time),
            emitted_at: Time(t.emitted_at),
            created_at: Time(t.created_at),
            updated_at: Time(t.updated_at),
            attachment_ids: t.attachment_ids.iter().map(Uuid::to_string).collect(),
            subject_type: "Card".into(),
            bank_account_id: t.bank_account_id,
            card_last_digits: t.card_last_digits.clone(),
        }
    }
}

/// An event for the outbox: `data` serialized once, in the change's transaction.
pub fn outbox_event(
    organization_id: Uuid,
    topic: &str,
    ordering_key: Uuid,
    data: &impl Serialize,
    now: Timestamp,
) -> OutboxEvent {
    event_with(organization_id, topic, ordering_key, to_json(data).into(), now)
}

/// An event for the outbox whose `data` is what `make` makes, serialized only if the store
/// writes the event: when a subscription will receive it. For the events of the changes that
/// run often (card changes, payments), which most organizations subscribe to none of.
pub fn deferred_outbox_event<D: Serialize>(
    organization_id: Uuid,
    topic: &str,
    ordering_key: Uuid,
    make: impl Fn() -> D + Send + Sync + 'static,
    now: Timestamp,
) -> OutboxEvent {
    event_with(organization_id, topic, ordering_key, EventData::deferred(move || to_json(&make())), now)
}

fn event_with(organization_id: Uuid, topic: &str, ordering_key: Uuid, data: EventData, now: Timestamp) -> OutboxEvent {
    OutboxEvent {
        // Time-ordered, so the outbox's keys append (see the webhooks migration).
        id: cardinal_store::ids::time_ordered(),
        organization_id,
        topic: topic.to_owned(),
        ordering_key,
        data,
        created_at: now,
    }
}

fn to_json(data: &impl Serialize) -> String {
    cardinal_json::to_string(data).unwrap_or_else(|_| "{}".into())
}

/// The body sent to a subscription: Qonto's envelope around the event's data, the same bytes
/// on every attempt.
pub fn envelope(event: &OutboxEvent, subscription: &WebhookSubscription) -> String {
    format!(
        r#"{{"id":"{}","subscription_id":"{}","organization_id":"{}","membership_id":"{}","type":{},"created_at":"{}","data":{}}}"#,
        event.id,
        subscription.id,
        event.organization_id,
        subscription.membership_id,
        serde_json::Value::from(event.topic.as_str()),
        cardinal_domain::time::Rfc3339::of(event.created_at).as_str(),
        event.data.text(),
    )
}
