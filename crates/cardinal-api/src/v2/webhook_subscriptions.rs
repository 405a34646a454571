//! `/v2/webhook_subscriptions` (spec §7, `qonto-reference.md` §1.1): owners and admins with an
//! OAuth token holding `webhook` and each subscribed topic's scope. Objects are unwrapped,
//! the secret shows only in the `201`, and errors are Qonto's flat `{code, detail}`.

use crate::http::auth::{scope, Principal};
use crate::http::error::{ApiError, ApiResult};
use crate::http::fields::Issues;
use crate::http::params::Params;
use crate::secrets::new_token;
use crate::webhooks::address::callback_problem;
use crate::wire::requests::{SubscriptionRequest, SubscriptionUpdate};
use crate::wire::{Meta, Time};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cardinal_domain::Role;
use cardinal_store::{SubscriptionHealth, WebhookSubscription, TOPICS_SENT};
use serde::Serialize;
use uuid::Uuid;

pub use crate::wire::webhooks::TOPICS;

/// A subscription as Qonto shows it; `secret` only in the create answer.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookSubscription")]
pub struct SubscriptionBody {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub membership_id: Uuid,
    pub callback_url: String,
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
}

/// The create answer: the subscription and its signing secret, shown this once.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "WebhookSubscriptionWithSecret")]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: SubscriptionBody,
    pub secret: String,
}

cardinal_wire::page!(
    /// `GET /v2/webhook_subscriptions`: the caller's own, oldest first.
    #[schemars(rename = "WebhookSubscriptionList")]
    SubscriptionList { subscriptions: SubscriptionBody }
);

impl SubscriptionBody {
    fn of(s: &WebhookSubscription) -> SubscriptionBody {
        SubscriptionBody {
            id: s.id,
            organization_id: s.organization_id,
            membership_id: s.membership_id,
            callback_url: s.callback_url.clone(),
            types: s.types.clone(),
            description: s.description.clone(),
            created_at: Time(s.created_at),
            updated_at: Time(s.updated_at),
        }
    }
}

/// What a create or update body asks for; `None` leaves a field as it is (update only).
struct Requested {
    callback_url: Option<String>,
    types: Option<Vec<String>>,
    /// `Some(None)`: `"description": null`, which removes it.
    description: Option<Option<String>>,
    secret: Option<String>,
}

/// Owners and admins manage subscriptions; each topic needs its scope too (Qonto).
fn permitted(principal: &Principal, types: &[String]) -> ApiResult<()> {
    if !matches!(principal.role(), Role::Owner | Role::Admin) {
        return Err(ApiError::forbidden(format!("a {} may not manage webhook subscriptions", principal.role())));
    }
    for topic in types {
        match topic.as_str() {
            "v1/cards" => principal.require(scope::CARD_READ)?,
            "v1/transactions" => principal.require(scope::ORGANIZATION_READ)?,
            _ => {}
        }
    }
    Ok(())
}

/// Reads a create body (URL and types required, a secret may be given) or an update body
/// (every field optional, at least one), and checks the address where it will be dialled.
async fn read_body(state: &AppState, body: &Bytes, creating: bool) -> ApiResult<Requested> {
    let requested = if creating {
        let (body, _) = crate::http::body::read::<SubscriptionRequest>(body)?;
        Requested {
            callback_url: Some(body.callback_url),
            types: Some(body.types),
            description: body.description.map(Some),
            secret: body.secret,
        }
    } else {
        let (body, _) = crate::http::body::read::<SubscriptionUpdate>(body)?;
        Requested { callback_url: body.callback_url, types: body.types, description: body.description, secret: None }
    };
    let mut f = Issues::at("");
    if !creating && requested.callback_url.is_none() && requested.types.is_none() && requested.description.is_none() {
        f.add("required", "callback_url", "give callback_url, types or description");
    }
    if let Some(url) = requested.callback_url.as_deref() {
        if let Some(problem) = callback_problem(url, &state.webhooks.addresses, state.resolver.as_ref()).await {
            f.add("invalid", "callback_url", problem);
        }
    }
    f.finish()?;
    Ok(requested)
}

/// Errors of these routes are flat, as Qonto shows them.
fn flat<T>(result: ApiResult<T>) -> ApiResult<T> {
    result.map_err(ApiError::flattened)
}

/// `POST /v2/webhook_subscriptions` → `201` with the secret, the only time it is shown.
pub async fn create(State(state): State<AppState>, principal: Principal, body: Bytes) -> ApiResult<Response> {
    flat(create_subscription(&state, &principal, &body).await)
}

async fn create_subscription(state: &AppState, principal: &Principal, body: &Bytes) -> ApiResult<Response> {
    let requested = read_body(state, body, true).await?;
    let (Some(callback_url), Some(types)) = (requested.callback_url, requested.types) else {
        return Err(ApiError::internal());
    };
    permitted(principal, &types)?;
    let id = Uuid::new_v4();
    let secret = requested.secret.unwrap_or_else(|| format!("whsec_{}", new_token()));
    let now = principal.now();
    let subscription = WebhookSubscription {
        id,
        organization_id: principal.organization.id,
        membership_id: principal.membership.id,
        callback_url,
        types,
        description: requested.description.flatten(),
        secret_sealed: state.vault.seal(id, &secret),
        created_at: now,
        updated_at: now,
        health: SubscriptionHealth::default(),
    };
    state.store.insert_webhook_subscription(subscription.clone()).await?;
    let unsent: Vec<&String> = subscription.types.iter().filter(|t| !TOPICS_SENT.contains(&t.as_str())).collect();
    if !unsent.is_empty() {
        tracing::info!(subscription = %id, ?unsent, "subscribed to event types Cardinal stores but never sends");
    }
    Ok((
        StatusCode::CREATED,
        Json(SubscriptionWithSecret { subscription: SubscriptionBody::of(&subscription), secret }),
    )
        .into_response())
}

/// `GET /v2/webhook_subscriptions`: the caller's own, oldest first.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<SubscriptionList>> {
    flat(
        async {
            let page_request = Params::parse(query.as_deref()).page()?;
            let page = state
                .store
                .webhook_subscriptions(principal.organization.id, Some(principal.membership.id), page_request)
                .await?;
            let subscriptions = page.items.iter().map(SubscriptionBody::of).collect();
            Ok(Json(SubscriptionList { subscriptions, meta: Meta::of(&page, page_request) }))
        }
        .await,
    )
}

/// The caller's subscription `raw`; 404 for another member's, like an unknown one.
async fn own(state: &AppState, principal: &Principal, raw: &str) -> ApiResult<WebhookSubscription> {
    let not_found = || ApiError::not_found("webhook subscription");
    let id = Uuid::parse_str(raw).map_err(|_| not_found())?;
    state
        .store
        .webhook_subscription(principal.organization.id, id)
        .await?
        .filter(|s| s.membership_id == principal.membership.id)
        .ok_or_else(not_found)
}

pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<Json<SubscriptionBody>> {
    flat(async { Ok(Json(SubscriptionBody::of(&own(&state, &principal, &raw).await?))) }.await)
}

/// `PUT`: changes the fields given (`"description": null` removes it); the others stay.
pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Json<SubscriptionBody>> {
    flat(
        async {
            let mut subscription = own(&state, &principal, &raw).await?;
            let requested = read_body(&state, &body, false).await?;
            subscription.callback_url = requested.callback_url.unwrap_or(subscription.callback_url);
            subscription.types = requested.types.unwrap_or(subscription.types);
            subscription.description = requested.description.unwrap_or(subscription.description);
            permitted(&principal, &subscription.types)?;
            subscription.updated_at = principal.now();
            // An update by its owner enables a slowed or disabled subscription again, as
            // updating an endpoint does at Stripe: the owner has looked at their receiver.
            subscription.health = SubscriptionHealth::default();
            if !state.store.update_webhook_subscription(subscription.clone()).await? {
                return Err(ApiError::not_found("webhook subscription"));
            }
            Ok(Json(SubscriptionBody::of(&subscription)))
        }
        .await,
    )
}

pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    flat(
        async {
            let subscription = own(&state, &principal, &raw).await?;
            permitted(&principal, &[])?;
            state.store.delete_webhook_subscription(principal.organization.id, subscription.id).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        .await,
    )
}
