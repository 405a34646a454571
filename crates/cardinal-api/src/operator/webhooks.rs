//! The operator API's view of webhook deliveries (spec §7): list them, see exactly what was
//! sent and answered on each attempt, and retry one now.

use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
pub use crate::wire::deliveries::*;
use crate::wire::webhooks::envelope;
use crate::wire::Meta;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use cardinal_store::{DeliveryQuery, DeliveryStatus, SubscriptionHealth, WebhookSubscription};
use uuid::Uuid;

/// `GET /_operator/organizations/{id}/webhook_deliveries`: newest first; `status`,
/// `subscription_id`, `page`, `per_page`.
pub async fn list(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<DeliveryList>> {
    let organization_id = known_organization(&state, &raw).await?;
    let params = Params::parse(query.as_deref());
    let status = params
        .one("status")
        .map(|v| {
            DeliveryStatus::parse(v).ok_or_else(|| {
                ApiError::parameter("not_in_list", "status", "status is one of: pending, delivered, failed")
            })
        })
        .transpose()?;
    let subscription_id = params
        .one("subscription_id")
        .map(|v| Uuid::parse_str(v).map_err(|_| ApiError::parameter("invalid", "subscription_id", "not a valid id")))
        .transpose()?;
    let page = params.page()?;
    let found =
        state.store.webhook_deliveries(&DeliveryQuery { organization_id, status, subscription_id, page }).await?;
    let webhook_deliveries = found.items.iter().map(DeliverySummary::from).collect();
    Ok(Json(DeliveryList { webhook_deliveries, meta: Meta::of(&found, page) }))
}

/// The organization a path names, if it exists (a 404 otherwise).
async fn known_organization(state: &AppState, raw: &str) -> ApiResult<Uuid> {
    Ok(state.organization_named(raw).await?.id)
}

/// `GET /_operator/webhook_deliveries/{id}`: the exact body sent and every attempt.
pub async fn show(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<DeliveryEnvelope>> {
    Ok(Json(detail(&state, &raw).await?))
}

/// `POST /_operator/webhook_deliveries/{id}/retry`: due now, whatever its state.
pub async fn retry(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<DeliveryEnvelope>> {
    let id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("webhook delivery"))?;
    if !state.store.retry_webhook_delivery(id, jiff::Timestamp::now()).await? {
        return Err(ApiError::not_found("webhook delivery"));
    }
    Ok(Json(detail(&state, &raw).await?))
}

async fn detail(state: &AppState, raw: &str) -> ApiResult<DeliveryEnvelope> {
    let not_found = || ApiError::not_found("webhook delivery");
    let id = Uuid::parse_str(raw).map_err(|_| not_found())?;
    let (delivery, attempts) = state.store.webhook_delivery(id).await?.ok_or_else(not_found)?;
    let subscription = state
        .store
        .webhook_subscription(delivery.event.organization_id, delivery.subscription_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(DeliveryEnvelope {
        webhook_delivery: DeliveryDetail {
            summary: DeliverySummary::from(&delivery),
            body: envelope(&delivery.event, &subscription),
            callback_url: subscription.callback_url,
            attempts_made: attempts.iter().map(AttemptBody::from).collect(),
        },
    })
}

/// `GET /_operator/organizations/{id}/webhook_subscriptions`: every member's, oldest first, with
/// their receivers' health.
pub async fn subscriptions(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<SubscriptionHealthList>> {
    let organization_id = known_organization(&state, &raw).await?;
    let page = Params::parse(query.as_deref()).page()?;
    let found = state.store.webhook_subscriptions(organization_id, None, page).await?;
    let webhook_subscriptions = found.items.iter().map(SubscriptionHealthBody::of).collect();
    Ok(Json(SubscriptionHealthList { webhook_subscriptions, meta: Meta::of(&found, page) }))
}

/// `POST /_operator/organizations/{id}/webhook_subscriptions/{subscription}/enable`: a slowed or
/// disabled subscription is active again (its failed deliveries stay failed; retry them one by
/// one).
pub async fn enable(
    State(state): State<AppState>,
    _: Operator,
    Path((organization, subscription)): Path<(String, String)>,
) -> ApiResult<Json<SubscriptionHealthEnvelope>> {
    let not_found = || ApiError::not_found("webhook subscription");
    let (organization, subscription) = match (Uuid::parse_str(&organization), Uuid::parse_str(&subscription)) {
        (Ok(organization), Ok(subscription)) => (organization, subscription),
        _ => return Err(not_found()),
    };
    let found = state.store.webhook_subscription(organization, subscription).await?.ok_or_else(not_found)?;
    let enabled = WebhookSubscription { health: SubscriptionHealth::default(), ..found };
    if !state.store.update_webhook_subscription(enabled.clone()).await? {
        return Err(not_found());
    }
    Ok(Json(SubscriptionHealthEnvelope { webhook_subscription: SubscriptionHealthBody::of(&enabled) }))
}
