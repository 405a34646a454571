//! A member's webhook subscriptions (spec §7): owners and admins subscribe an address they
//! own to event types; the address is checked as the worker will dial it; the signing secret
//! is sealed like card data and shown once. Each member sees and changes only their own.
//! Which OAuth scopes a topic needs is the door's to check.

use crate::cards::member::Member;
use crate::issues::Issues;
use crate::secrets::new_token;
use crate::webhooks::address::callback_problem;
use crate::App;
use cardinal_domain::{DomainError, Role};
use cardinal_store::{StoreResult, SubscriptionHealth, WebhookSubscription, TOPICS_SENT};
use jiff::Timestamp;
use uuid::Uuid;

/// A subscription to make.
pub struct NewSubscription {
    pub callback_url: String,
    pub types: Vec<String>,
    pub description: Option<String>,
    /// Signs the deliveries; one is generated when `None`.
    pub secret: Option<String>,
}

/// The fields to change; `None` leaves a field as it is, and `Some(None)` removes the
/// description.
pub struct SubscriptionChange {
    pub callback_url: Option<String>,
    pub types: Option<Vec<String>>,
    pub description: Option<Option<String>>,
}

/// Who subscribes: the member, in their organization, at its clock's `now`.
pub struct Subscriber {
    pub organization_id: Uuid,
    pub member: Member,
    pub now: Timestamp,
}

/// Makes the subscription: the new subscription and its secret, which is never shown again.
pub async fn create(app: &App, who: &Subscriber, new: NewSubscription) -> StoreResult<(WebhookSubscription, String)> {
    check_address(app, Some(&new.callback_url)).await?;
    may_manage(&who.member)?;
    let id = Uuid::new_v4();
    let secret = new.secret.unwrap_or_else(|| format!("whsec_{}", new_token()));
    let subscription = WebhookSubscription {
        id,
        organization_id: who.organization_id,
        membership_id: who.member.membership_id,
        callback_url: new.callback_url,
        types: new.types,
        description: new.description,
        secret_sealed: app.vault.seal(id, &secret),
        created_at: who.now,
        updated_at: who.now,
        health: SubscriptionHealth::default(),
    };
    app.store.insert_webhook_subscription(subscription.clone()).await?;
    let unsent: Vec<&String> = subscription.types.iter().filter(|t| !TOPICS_SENT.contains(&t.as_str())).collect();
    if !unsent.is_empty() {
        tracing::info!(subscription = %id, ?unsent, "subscribed to event types Cardinal stores but never sends");
    }
    Ok((subscription, secret))
}

/// The member's own subscription `id`; `None` for another member's, like an unknown one.
pub async fn own(app: &App, who: &Subscriber, id: Uuid) -> StoreResult<Option<WebhookSubscription>> {
    let found = app.store.webhook_subscription(who.organization_id, id).await?;
    Ok(found.filter(|s| s.membership_id == who.member.membership_id))
}

/// Changes `subscription`, the member's own as [`own`] found it. An update by its owner
/// enables a slowed or disabled subscription again, as updating an endpoint does at Stripe:
/// the owner has looked at their receiver. `None` when it is gone meanwhile.
pub async fn update(
    app: &App,
    who: &Subscriber,
    mut subscription: WebhookSubscription,
    change: SubscriptionChange,
) -> StoreResult<Option<WebhookSubscription>> {
    if change.callback_url.is_none() && change.types.is_none() && change.description.is_none() {
        let mut issues = Issues::at("");
        issues.add("required", "callback_url", "give callback_url, types or description");
        issues.finish()?;
    }
    check_address(app, change.callback_url.as_deref()).await?;
    may_manage(&who.member)?;
    subscription.callback_url = change.callback_url.unwrap_or(subscription.callback_url);
    subscription.types = change.types.unwrap_or(subscription.types);
    subscription.description = change.description.unwrap_or(subscription.description);
    subscription.updated_at = who.now;
    subscription.health = SubscriptionHealth::default();
    let updated = app.store.update_webhook_subscription(subscription.clone()).await?;
    Ok(updated.then_some(subscription))
}

/// Deletes the member's subscription `id`; `false` when it is not theirs.
pub async fn delete(app: &App, who: &Subscriber, id: Uuid) -> StoreResult<bool> {
    let Some(subscription) = own(app, who, id).await? else { return Ok(false) };
    may_manage(&who.member)?;
    app.store.delete_webhook_subscription(who.organization_id, subscription.id).await?;
    Ok(true)
}

/// Owners and admins manage subscriptions (Qonto).
fn may_manage(member: &Member) -> Result<(), DomainError> {
    if matches!(member.role, Role::Owner | Role::Admin) {
        return Ok(());
    }
    Err(DomainError::Forbidden(format!("a {} may not manage webhook subscriptions", member.role)))
}

/// The callback address, checked where the worker will dial it.
async fn check_address(app: &App, url: Option<&str>) -> Result<(), DomainError> {
    let Some(url) = url else { return Ok(()) };
    let mut issues = Issues::at("");
    if let Some(problem) = callback_problem(url, &app.webhooks.addresses, app.resolver.as_ref()).await {
        issues.add("invalid", "callback_url", problem);
    }
    issues.finish()
}
