//! Simulated card payments (spec §6.1, §6.2), on the control API: authorize at a merchant,
//! then settle or reverse ([`crate::app::payments`]). Declines are answers, not errors.

use crate::app::payments::{self, Purchase};
use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::v2::cards::card_id;
use crate::wire::answers::TransactionEnvelope;
use crate::wire::operator::{AuthorizationBody, AuthorizationEnvelope};
use crate::wire::requests::AuthorizationRequest;
use crate::wire::{Euros, Time, TransactionBody};
use crate::AppState;
use axum::extract::{Path, State};
use cardinal_domain::authorization::MerchantCategory;
use cardinal_store::{Transaction, TransactionStatus};
use uuid::Uuid;

/// The request, with what its schema cannot say checked: a merchant name that is not blank.
fn purchase(body: AuthorizationRequest) -> ApiResult<Purchase> {
    let merchant = body.merchant;
    let name = merchant.name.trim().to_owned();
    if name.is_empty() {
        return Err(ApiError::field("invalid", "/merchant/name", "name must not be blank"));
    }
    // The schema lists the categories and channels; these reads cannot fail after it.
    let category = MerchantCategory::parse(&merchant.category).ok_or_else(|| {
        ApiError::field("not_in_list", "/merchant/category", "category must be a card category or other")
    })?;
    Ok(Purchase {
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
    let purchase = purchase(body)?;
    let id = card_id(&raw)?;
    let transaction = payments::authorize(&state.app, id, purchase, &crate::http::trace::request_id()).await?;
    let approved = transaction.status == TransactionStatus::Pending;
    Ok(Json(AuthorizationEnvelope {
        authorization: AuthorizationBody {
            id: transaction.id,
            card_id: transaction.card_id,
            decision: if approved { "approved".into() } else { "declined".into() },
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
    let id = transaction_id(&raw)?;
    answer(payments::settle(&state.app, id).await?)
}

/// `POST /_sandbox/transactions/{id}/reverse`: pending → reversed; the amount returns to the
/// authorized balance and to the spent counters of the windows it was counted in.
pub async fn reverse(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<TransactionEnvelope>> {
    let id = transaction_id(&raw)?;
    answer(payments::reverse(&state.app, id).await?)
}

fn transaction_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("transaction"))
}

fn answer(transaction: Option<Transaction>) -> ApiResult<Json<TransactionEnvelope>> {
    let transaction = transaction.ok_or_else(|| ApiError::not_found("transaction"))?;
    Ok(Json(TransactionEnvelope { transaction: TransactionBody::from(&transaction) }))
}
