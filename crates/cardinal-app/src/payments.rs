//! Simulated card payments (spec §6.1, §6.2): an authorization at a merchant, decided by the
//! card's rules and the account's balance, then a settlement or a reversal. A decline is an
//! answer (a declined transaction), not an error. Each reports its `v1/transactions` event
//! in the same commit.

use crate::cards::change::Origin;
use crate::cards::expiry;
use crate::wire::webhooks::{deferred_outbox_event, TransactionEventData, TRANSACTIONS_TOPIC};
use crate::App;
use cardinal_domain::authorization::{
    decide, record_approval, record_reversal, Attempt, Channel, Context, MerchantCategory,
};
use cardinal_domain::card::Windows;
use cardinal_domain::{Cents, DomainError};
use cardinal_store::{OutboxEvent, StoreResult, Transaction, TransactionStatus};
use jiff::Timestamp;
use uuid::Uuid;

/// A purchase at a merchant, as a card network would present it.
#[derive(Debug, Clone)]
pub struct Purchase {
    pub amount: Cents,
    pub currency: String,
    pub channel: Channel,
    pub merchant_name: String,
    pub category: MerchantCategory,
    /// ISO 3166 alpha-2, upper case.
    pub country: String,
    /// When it happens on the organization's clock; `None` is its now.
    pub at: Option<Timestamp>,
}

/// Authorizes `purchase` on card `id` (of any organization): the transaction, approved
/// (`pending`) or declined with its reason. An unknown card is `NotFound`.
pub async fn authorize(app: &App, id: Uuid, purchase: Purchase, request_id: &str) -> StoreResult<Transaction> {
    let card = app.store.card_by_id(id).await?.ok_or(DomainError::NotFound)?;
    let organization = app.store.organization(card.card.organization_id).await?.ok_or(DomainError::NotFound)?;
    if purchase.at.is_some_and(|at| at > organization.now()) {
        return Err(DomainError::invalid("/at", "at must not be after the organization's current time").into());
    }
    let tz = organization.time_zone();
    let clock = organization.clone();
    let country = organization.country.clone();
    let slug_prefix = organization.slug.clone();
    let (_, transaction) = app
        .store
        .pay(
            organization.id,
            id,
            Box::new(move |stored, account| {
                let card = &mut stored.card;
                // Read the clock now that the card is locked: a request that waited for the lock
                // behind a later one must not look older than the attempt it waited for.
                let now = clock.now().max(card.last_activity_at.unwrap_or(Timestamp::MIN));
                let at = match purchase.at {
                    Some(at) if card.last_activity_at.is_some_and(|last| at < last) => {
                        return Err(DomainError::invalid(
                            "/at",
                            "at must not be before the card's last payment attempt",
                        ))
                    }
                    Some(at) => at,
                    None => now,
                };
                let attempt = Attempt {
                    amount: purchase.amount,
                    channel: purchase.channel,
                    category: purchase.category,
                    merchant_country: purchase.country.clone(),
                    at,
                };
                let context =
                    Context { organization_country: &country, time_zone: &tz, available: account.authorized_balance };
                let decision = decide(card, &attempt, &context);
                let transaction_id = crate::ids::time_ordered();
                let mut transaction = Transaction {
                    id: transaction_id,
                    organization_id: card.organization_id,
                    bank_account_id: card.bank_account_id,
                    card_id: card.id,
                    holder_id: card.holder_id,
                    slug: format!("{slug_prefix}-transaction-{}", &transaction_id.simple().to_string()[20..]),
                    amount: purchase.amount,
                    currency: purchase.currency.clone(),
                    side: "debit".into(),
                    operation_type: "card".into(),
                    status: TransactionStatus::Declined,
                    decline_reason: None,
                    label: purchase.merchant_name.clone(),
                    category: purchase.category.as_str().to_owned(),
                    merchant_country: purchase.country.clone(),
                    channel: purchase.channel.as_str().to_owned(),
                    counted_day: None,
                    counted_month: None,
                    card_last_digits: card.last_digits.clone(),
                    emitted_at: at,
                    settled_at: None,
                    settled_balance: None,
                    created_at: now,
                    updated_at: now,
                    attachment_ids: Vec::new(),
                    label_ids: Vec::new(),
                };
                match decision {
                    Ok(()) => {
                        let windows = record_approval(card, purchase.amount, purchase.channel, at, &tz);
                        account.authorized_balance = account.authorized_balance - purchase.amount;
                        account.updated_at = now;
                        transaction.status = TransactionStatus::Pending;
                        transaction.counted_day = Some(windows.day);
                        transaction.counted_month = Some(windows.month);
                    }
                    Err(reason) => {
                        // A decline is still activity on the card (spec §2.1), nothing more.
                        card.last_activity_at = Some(at);
                        transaction.decline_reason = Some(reason.as_str().to_owned());
                    }
                }
                let events = transaction_outbox(&transaction, "created", now);
                Ok((transaction, events))
            }),
        )
        .await?;
    // An attempt that finds the card expired is a read that shows it so: the expiry is stored
    // and reported now, as a read of the card would (spec §7).
    let now = organization.now();
    if card.card.expiry_due(now) {
        let origin = Origin { now, request_id: request_id.to_owned() };
        expiry::settle(app, organization.id, &origin, vec![id]).await;
    }
    Ok(transaction)
}

/// Settles pending transaction `id`: completed, the balance drops. `None` for an unknown one.
pub async fn settle(app: &App, id: Uuid) -> StoreResult<Option<Transaction>> {
    let Some(now) = transaction_clock(app, id).await? else { return Ok(None) };
    let (transaction, _) = app
        .store
        .change_transaction(
            id,
            Box::new(move |t, _card, account| {
                ensure_pending(t, "settled")?;
                account.balance = account.balance - t.amount;
                account.updated_at = now;
                t.status = TransactionStatus::Completed;
                t.settled_at = Some(now);
                t.settled_balance = Some(account.balance);
                t.updated_at = now;
                Ok(transaction_outbox(t, "updated", now))
            }),
        )
        .await?;
    Ok(Some(transaction))
}

/// Reverses pending transaction `id`: the amount returns to the authorized balance and to the
/// spent counters of the windows it was counted in. `None` for an unknown one.
pub async fn reverse(app: &App, id: Uuid) -> StoreResult<Option<Transaction>> {
    let Some(now) = transaction_clock(app, id).await? else { return Ok(None) };
    let (transaction, _) = app
        .store
        .change_transaction(
            id,
            Box::new(move |t, stored, account| {
                ensure_pending(t, "reversed")?;
                account.authorized_balance = account.authorized_balance + t.amount;
                account.updated_at = now;
                if let (Some(day), Some(month), Some(channel)) =
                    (t.counted_day, t.counted_month, Channel::parse(&t.channel))
                {
                    record_reversal(&mut stored.card, t.amount, channel, Windows { day, month });
                }
                t.status = TransactionStatus::Reversed;
                t.updated_at = now;
                Ok(transaction_outbox(t, "updated", now))
            }),
        )
        .await?;
    Ok(Some(transaction))
}

/// `done` is the action in the past participle: "a completed transaction cannot be settled".
fn ensure_pending(t: &Transaction, done: &str) -> Result<(), DomainError> {
    if t.status != TransactionStatus::Pending {
        let status = t.status.as_str();
        let article = cardinal_domain::error::article(status);
        return Err(DomainError::InvalidState(format!("{article} {status} transaction cannot be {done}")));
    }
    Ok(())
}

/// The clock of the organization transaction `id` belongs to (any organization).
async fn transaction_clock(app: &App, id: Uuid) -> StoreResult<Option<Timestamp>> {
    let Some(organization_id) = app.store.transaction_organization(id).await? else { return Ok(None) };
    Ok(app.store.organization(organization_id).await?.map(|o| o.now()))
}

/// The `v1/transactions` event a payment (`created`) or a settlement or reversal (`updated`)
/// reports, in order with the card's other events.
pub(crate) fn transaction_outbox(t: &Transaction, event: &'static str, now: Timestamp) -> Vec<OutboxEvent> {
    let shown = t.clone();
    let data = move || TransactionEventData::of(&shown, event);
    vec![deferred_outbox_event(t.organization_id, TRANSACTIONS_TOPIC, t.card_id, data, now)]
}
