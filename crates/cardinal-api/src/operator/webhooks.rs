//! The operator API's view of webhook deliveries (spec §7): list them, see exactly what was
//! sent and answered on each attempt, and retry one now.

use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::params::Params;
use crate::wire::webhooks::envelope;
use crate::wire::{Meta, Time};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use cardinal_store::{
    DeliveryAttempt, DeliveryQuery, DeliveryStatus, SubscriptionHealth, WebhookDelivery, WebhookSubscription,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// One event to one subscription.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookDelivery")]
pub struct DeliverySummary {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub topic: String,
    /// The `data.event` of the payload (`locked`, `created`, …).
    pub event: String,
    #[schemars(schema_with = "statuses")]
    pub status: &'static str,
    pub attempts: u32,
    pub next_attempt_at: Option<Time>,
    pub created_at: Time,
}

impl From<&WebhookDelivery> for DeliverySummary {
    fn from(d: &WebhookDelivery) -> DeliverySummary {
        let event = serde_json::from_str::<Value>(&d.event.data)
            .ok()
            .and_then(|data| data.get("event").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        DeliverySummary {
            id: d.id,
            subscription_id: d.subscription_id,
            event_id: d.event.id,
            topic: d.event.topic.clone(),
            event,
            status: d.status.as_str(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(Time),
            created_at: Time(d.event.created_at),
        }
    }
}

/// A delivery with the exact body sent and every attempt.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookDeliveryDetail")]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub summary: DeliverySummary,
    pub callback_url: String,
    /// The exact body sent.
    pub body: String,
    pub attempts_made: Vec<AttemptBody>,
}

cardinal_wire::envelope!(
    #[schemars(rename = "WebhookDeliveryEnvelope")]
    DeliveryEnvelope { webhook_delivery: DeliveryDetail }
);
cardinal_wire::page!(
    #[schemars(rename = "WebhookDeliveryList")]
    DeliveryList { webhook_deliveries: DeliverySummary }
);
cardinal_wire::page!(
    #[schemars(rename = "WebhookSubscriptionHealthList")]
    SubscriptionHealthList { webhook_subscriptions: SubscriptionHealthBody }
);
cardinal_wire::envelope!(
    #[schemars(rename = "WebhookSubscriptionHealthEnvelope")]
    SubscriptionHealthEnvelope { webhook_subscription: SubscriptionHealthBody }
);

/// One attempt of a delivery.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookAttempt")]
pub struct AttemptBody {
    pub number: u32,
    pub at: String,
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    pub error: Option<String>,
    /// The first 2 KiB of the answer.
    pub answer: String,
    /// The headers sent, signature included.
    pub headers: serde_json::Map<String, Value>,
}

impl From<&DeliveryAttempt> for AttemptBody {
    fn from(a: &DeliveryAttempt) -> AttemptBody {
        AttemptBody {
            number: a.number,
            at: a.at.to_string(),
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            answer: a.answer.clone(),
            headers: a.request_headers.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect(),
        }
    }
}

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

/// A subscription as the control API shows it: whoever made it, and how its receiver has been
/// doing (never its secret).
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookSubscriptionHealth")]
pub struct SubscriptionHealthBody {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub callback_url: String,
    pub types: Vec<String>,
    /// `active`; `slowed` (its deliveries wait until `paused_until`); `disabled` (nothing is
    /// attempted or made for it until its owner updates it or it is enabled here).
    #[schemars(schema_with = "health_states")]
    pub state: &'static str,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    pub failing_since: Option<String>,
    pub paused_until: Option<String>,
    pub disabled_at: Option<String>,
}

impl SubscriptionHealthBody {
    fn of(s: &WebhookSubscription) -> SubscriptionHealthBody {
        let SubscriptionHealth { consecutive_failures, failing_since, paused_until, disabled_at } = s.health;
        let text = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
        SubscriptionHealthBody {
            id: s.id,
            organization_id: s.organization_id,
            membership_id: s.membership_id,
            callback_url: s.callback_url.clone(),
            types: s.types.clone(),
            state: s.health.state(),
            consecutive_failures,
            failing_since: text(failing_since),
            paused_until: text(paused_until),
            disabled_at: text(disabled_at),
        }
    }
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

fn health_states(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::schema::one_of(["active", "slowed", "disabled"])
}

fn statuses(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::schema::one_of(DeliveryStatus::ALL.iter().map(|s| s.as_str()))
}
