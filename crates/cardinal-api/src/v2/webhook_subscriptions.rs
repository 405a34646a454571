//! `/v2/webhook_subscriptions` (spec §7, `qonto-reference.md` §1.1): owners and admins with an
//! OAuth token holding `webhook` and each subscribed topic's scope. Objects are unwrapped,
//! the secret shows only in the `201`, and errors are Qonto's flat `{code, detail}`.

use crate::app::webhooks::subscriptions::{self, NewSubscription, Subscriber, SubscriptionChange};
use crate::http::auth::{scope, Principal};
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::wire::requests::{SubscriptionRequest, SubscriptionUpdate};
use crate::wire::Meta;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cardinal_store::WebhookSubscription;
use uuid::Uuid;

pub use crate::wire::webhooks::TOPICS;

pub use crate::wire::deliveries::{SubscriptionBody, SubscriptionList, SubscriptionShown, SubscriptionWithSecret};

/// Each topic needs its scope (Qonto); the core checks the role.
fn scopes_cover(principal: &Principal, types: &[String]) -> ApiResult<()> {
    for topic in types {
        match topic.as_str() {
            "v1/cards" => principal.require(scope::CARD_READ)?,
            "v1/transactions" | "v1/memberships" => principal.require(scope::ORGANIZATION_READ)?,
            _ => {}
        }
    }
    Ok(())
}

fn subscriber(principal: &Principal) -> Subscriber {
    Subscriber { organization_id: principal.organization.id, member: principal.member(), now: principal.now() }
}

fn subscription_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("webhook subscription"))
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
    let (body, _) = crate::http::body::read::<SubscriptionRequest>(body)?;
    scopes_cover(principal, &body.types)?;
    let new = NewSubscription {
        callback_url: body.callback_url,
        types: body.types,
        description: body.description,
        secret: body.secret,
    };
    let (subscription, secret) = subscriptions::create(&state.app, &subscriber(principal), new).await?;
    let created = SubscriptionWithSecret { subscription: SubscriptionBody::of(&subscription), secret };
    Ok((StatusCode::CREATED, Json(created)).into_response())
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
            let subscriptions = page.items.iter().map(SubscriptionShown::of).collect();
            Ok(Json(SubscriptionList { subscriptions, meta: Meta::of(&page, page_request) }))
        }
        .await,
    )
}

/// The caller's subscription `raw`; 404 for another member's, like an unknown one.
async fn own(state: &AppState, principal: &Principal, raw: &str) -> ApiResult<WebhookSubscription> {
    let id = subscription_id(raw)?;
    let found = subscriptions::own(&state.app, &subscriber(principal), id).await?;
    found.ok_or_else(|| ApiError::not_found("webhook subscription"))
}

pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<Json<SubscriptionShown>> {
    flat(async { Ok(Json(SubscriptionShown::of(&own(&state, &principal, &raw).await?))) }.await)
}

/// `PUT`: changes the fields given (`"description": null` removes it); the others stay.
pub async fn replace(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    body: Bytes,
) -> ApiResult<Json<SubscriptionShown>> {
    flat(
        async {
            let current = own(&state, &principal, &raw).await?;
            let (body, _) = crate::http::body::read::<SubscriptionUpdate>(&body)?;
            // The topics the subscription will have, given or kept, need their scopes.
            scopes_cover(&principal, body.types.as_ref().unwrap_or(&current.types))?;
            let change = SubscriptionChange {
                callback_url: body.callback_url,
                types: body.types,
                description: body.description,
            };
            let updated = subscriptions::update(&state.app, &subscriber(&principal), current, change).await?;
            let updated = updated.ok_or_else(|| ApiError::not_found("webhook subscription"))?;
            Ok(Json(SubscriptionShown::of(&updated)))
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
            let id = subscription_id(&raw)?;
            if !subscriptions::delete(&state.app, &subscriber(&principal), id).await? {
                return Err(ApiError::not_found("webhook subscription"));
            }
            Ok(StatusCode::NO_CONTENT)
        }
        .await,
    )
}
