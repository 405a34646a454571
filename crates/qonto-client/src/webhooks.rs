//! `/v2/webhook_subscriptions…`: a member's subscriptions. Their answers are not wrapped, and
//! their errors are Qonto's flat shape (both read by this client).

use crate::pages::{Page, Query};
use crate::transport::Call;
use crate::wire::deliveries::{SubscriptionBody, SubscriptionWithSecret};
use crate::wire::requests::{SubscriptionRequest, SubscriptionUpdate};
use crate::{Client, Result};
use reqwest::Method;
use uuid::Uuid;

/// The webhook-subscription routes of a [`Client`]: `client.webhook_subscriptions()`.
pub struct WebhookSubscriptions<'a> {
    pub(crate) client: &'a Client,
}

impl WebhookSubscriptions<'_> {
    /// `GET /v2/webhook_subscriptions`: the caller's own.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// let mine = client.webhook_subscriptions().list(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &Query) -> Result<Page<SubscriptionBody>> {
        self.client.page("/v2/webhook_subscriptions", "subscriptions", query).await
    }

    /// `POST /v2/webhook_subscriptions`: the answer carries the signing secret, this once.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// use qonto_client::wire::requests::SubscriptionRequest;
    /// let made = client
    ///     .webhook_subscriptions()
    ///     .create(SubscriptionRequest {
    ///         callback_url: "https://example.com/hooks".into(),
    ///         types: vec!["v1/cards".into()],
    ///         secret: None,
    ///         description: None,
    ///     })
    ///     .await?;
    /// println!("verify with {}", made.secret);
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, subscription: SubscriptionRequest) -> Result<SubscriptionWithSecret> {
        let body = serde_json::to_value(&subscription).ok();
        self.client.transport().send(&Call::write(Method::POST, "/v2/webhook_subscriptions", body)).await?.json()
    }

    /// `GET /v2/webhook_subscriptions/{id}`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// let subscription = client.webhook_subscriptions().get(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: Uuid) -> Result<SubscriptionBody> {
        self.client.transport().send(&Call::get(format!("/v2/webhook_subscriptions/{id}"))).await?.json()
    }

    /// `PUT /v2/webhook_subscriptions/{id}`: what is given changes.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// use qonto_client::wire::requests::SubscriptionUpdate;
    /// let update = SubscriptionUpdate { callback_url: None, types: Some(vec!["v1/transactions".into()]), description: None };
    /// client.webhook_subscriptions().update(id, update).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, id: Uuid, update: SubscriptionUpdate) -> Result<SubscriptionBody> {
        let body = serde_json::to_value(&update).ok();
        let call = Call::write(Method::PUT, format!("/v2/webhook_subscriptions/{id}"), body);
        self.client.transport().send(&call).await?.json()
    }

    /// `DELETE /v2/webhook_subscriptions/{id}`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// client.webhook_subscriptions().delete(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        let call = Call {
            idempotency_key: None,
            ..Call::write(Method::DELETE, format!("/v2/webhook_subscriptions/{id}"), None)
        };
        self.client.transport().send(&call).await?.empty()
    }
}
