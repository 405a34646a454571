//! Simulated card payments (spec §6.1, §6.2), on the control API: authorize at a merchant,
//! then settle or reverse. Declines are answers, not errors.

use crate::app::cards::expiry;
use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::v2::cards::card_id;
use crate::wire::answers::TransactionEnvelope;
use crate::wire::operator::{AuthorizationBody, AuthorizationEnvelope};
use crate::wire::requests::AuthorizationRequest;
use crate::wire::webhooks::{outbox_event, TransactionEventData, TRANSACTIONS_TOPIC};
use crate::wire::{Euros, Time, TransactionBody};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use cardinal_domain::authorization::{
    decide, record_approval, record_reversal, Attempt, Channel, Context, MerchantCategory, Windows,
};
use cardinal_domain::{Cents, DomainError};
use cardinal_store::{OutboxEvent, Transaction, TransactionStatus};
use jiff::Timestamp;
use uuid::Uuid;

/// What `POST /_sandbox/cards/{id}/authorizations` asks for.
struct Request {
    amount: Cents,
    currency: String,
    channel: Channel,
    merchant_name: String,
    category: MerchantCategory,
    country: String,
    at: Option<Timestamp>,
}

/// The request, with what its schema cannot say checked: a merchant name that is not blank.
fn read_request(body: AuthorizationRequest) -> ApiResult<Request> {
    let merchant = body.merchant;
    let name = merchant.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::field("invalid", "/merchant/name", "name must not be blank"));
    }
    // The schema lists the categories and channels; these reads cannot fail after it.
    let category = MerchantCategory::parse(&merchant.category).ok_or_else(|| {
        ApiError::field("not_in_list", "/merchant/category", "category must be a card category or other")
    })?;
    Ok(Request {
        amount: body.amount.0,
        currency: body.currency.unwrap_or_else(|| "EUR".into()),
        channel: body.channel,
        merchant_name: name,
        category,
        country: merchant.country.to_uppercase(),
        at: body.at.map(|t| t.0),
    })
}

/// `POST /_sandbox/cards/{id}/authorizations`.
pub async fn authorize(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<AuthorizationRequest>,
) -> ApiResult<Json<AuthorizationEnvelope>> {
    let request = read_request(body)?;
    let id = card_id(&raw)?;
    let card = state.store.card_by_id(id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    let organization =
        state.store.organization(card.card.organization_id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    if request.at.is_some_and(|at| at > organization.now()) {
        return Err(ApiError::field("invalid", "/at", "at must not be after the organization's current time"));
    }
    let tz = organization.time_zone();
    let clock = organization.clone();
    let country = organization.country.clone();
    let slug_prefix = organization.slug.clone();
    let (_, transaction) = state
        .store
        .pay(
            organization.id,
            id,
            Box::new(move |stored, account| {
                let card = &mut stored.card;
                // Read the clock now that the card is locked: a request that waited for the lock
                // behind a later one must not look older than the attempt it waited for.
                let now = clock.now().max(card.last_activity_at.unwrap_or(Timestamp::MIN));
                let at = match request.at {
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
                    amount: request.amount,
                    channel: request.channel,
                    category: request.category,
                    merchant_country: request.country.clone(),
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
                    amount: request.amount,
                    currency: request.currency.clone(),
                    side: "debit".into(),
                    operation_type: "card".into(),
                    status: TransactionStatus::Declined,
                    decline_reason: None,
                    label: request.merchant_name.clone(),
                    category: request.category.as_str().to_owned(),
                    merchant_country: request.country.clone(),
                    channel: request.channel.as_str().to_owned(),
                    counted_day: None,
                    counted_month: None,
                    card_last_digits: card.last_digits.clone(),
                    emitted_at: at,
                    settled_at: None,
                    settled_balance: None,
                    created_at: now,
                    updated_at: now,
                };
                match decision {
                    Ok(()) => {
                        let windows = record_approval(card, request.amount, request.channel, at, &tz);
                        account.authorized_balance = account.authorized_balance - request.amount;
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
        expiry::settle(&state.app, organization.id, &crate::http::trace::origin(now), vec![id]).await;
    }
    let approved = transaction.status == TransactionStatus::Pending;
    Ok(Json(AuthorizationEnvelope {
        authorization: AuthorizationBody {
            id: transaction.id,
            card_id: transaction.card_id,
            decision: if approved { "approved" } else { "declined" },
            decline_reason: transaction.decline_reason,
            amount: Euros(transaction.amount),
            transaction_id: transaction.id,
            at: Time(transaction.emitted_at),
        },
    }))
}

/// `POST /_sandbox/transactions/{id}/settle`: pending → completed; the balance drops.
pub async fn settle(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<TransactionEnvelope>> {
    let (organization_now, id) = transaction_clock(&state, &raw).await?;
    let (transaction, _) = state
        .store
        .change_transaction(
            id,
            Box::new(move |t, _card, account| {
                ensure_pending(t, "settled")?;
                account.balance = account.balance - t.amount;
                account.updated_at = organization_now;
                t.status = TransactionStatus::Completed;
                t.settled_at = Some(organization_now);
                t.settled_balance = Some(account.balance);
                t.updated_at = organization_now;
                Ok(transaction_outbox(t, "updated", organization_now))
            }),
        )
        .await?;
    Ok(Json(TransactionEnvelope { transaction: TransactionBody::from(&transaction) }))
}

/// `POST /_sandbox/transactions/{id}/reverse`: pending → reversed; the amount returns to the
/// authorized balance and to the spent counters of the windows it was counted in.
pub async fn reverse(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<TransactionEnvelope>> {
    let (organization_now, id) = transaction_clock(&state, &raw).await?;
    let (transaction, _) = state
        .store
        .change_transaction(
            id,
            Box::new(move |t, stored, account| {
                ensure_pending(t, "reversed")?;
                account.authorized_balance = account.authorized_balance + t.amount;
                account.updated_at = organization_now;
                if let (Some(day), Some(month), Some(channel)) =
                    (t.counted_day, t.counted_month, Channel::parse(&t.channel))
                {
                    record_reversal(&mut stored.card, t.amount, channel, Windows { day, month });
                }
                t.status = TransactionStatus::Reversed;
                t.updated_at = organization_now;
                Ok(transaction_outbox(t, "updated", organization_now))
            }),
        )
        .await?;
    Ok(Json(TransactionEnvelope { transaction: TransactionBody::from(&transaction) }))
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

/// The transaction's id and its organization's clock.
async fn transaction_clock(state: &AppState, raw: &str) -> ApiResult<(Timestamp, Uuid)> {
    let not_found = || ApiError::not_found("transaction");
    let id = Uuid::parse_str(raw).map_err(|_| not_found())?;
    // Any organization: the control API is server-wide. Find the owner through the store.
    let organization_id = state.store.transaction_organization(id).await?.ok_or_else(not_found)?;
    let organization = state.store.organization(organization_id).await?.ok_or_else(not_found)?;
    Ok((organization.now(), id))
}

/// The `v1/transactions` event a payment (`created`) or a settlement or reversal (`updated`)
/// reports, in order with the card's other events.
fn transaction_outbox(t: &Transaction, event: &'static str, now: Timestamp) -> Vec<OutboxEvent> {
    let data = TransactionEventData::of(t, event);
    vec![outbox_event(t.organization_id, TRANSACTIONS_TOPIC, t.card_id, &data, now)]
}
