//! Cardinal's own routes, beside Qonto's: the sandbox control API and the operator API, as
//! the operator token (Cardinal's admin token). Qonto has none of these; they drive a local
//! sandbox: organizations and tokens, the organization's clock, simulated payments, webhook
//! deliveries, and the request log (also live, as server-sent events).

use crate::pages::{Page, Query};
use crate::transport::{Auth, Call};
use crate::wire::answers::{Clock, Events, MembershipEnvelope, TransactionEnvelope};
use crate::wire::attachments::{LabelBody, LabelEnvelope, LabelRequest, TransactionLabels};
use crate::wire::deliveries::{DeliveryDetail, DeliveryEnvelope, DeliverySummary};
use crate::wire::operator::{
    AccessToken, AuthorizationBody, AuthorizationEnvelope, CreatedOrganization, LoggedRequestBody, OrganizationSummary,
};
use crate::wire::requests::{AuthorizationRequest, ClockRequest, OrganizationRequest, TokenRequest};
use crate::wire::{MembershipDetail, Time, TransactionBody};
use crate::{Client, Error, Result};
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

/// A Cardinal server's control and operator API, as its operator token.
#[derive(Clone)]
pub struct Control {
    client: Client,
    operator: Auth,
}

/// What a live request-log stream says.
#[derive(Debug)]
pub enum LogEvent {
    Request(Box<LoggedRequestBody>),
    /// The reader fell behind by this many requests; they are in the log, not in the stream.
    Lost(u64),
}

impl Control {
    /// `client` says where Cardinal is (its own credential is not used here).
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, card: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// use qonto_client::cardinal::Control;
    /// let control = Control::new(client, "<operator token>");
    /// let payment = serde_json::from_value(serde_json::json!({
    ///     "amount": 12.5, "channel": "online",
    ///     "merchant": {"name": "Café", "category": "restaurant_and_bar", "country": "FR"}
    /// })).unwrap();
    /// let decision = control.authorize(card, &payment).await?;
    /// println!("{} {:?}", decision.decision, decision.decline_reason);
    /// # Ok(()) }
    /// ```
    pub fn new(client: Client, operator_token: impl Into<String>) -> Control {
        Control { client, operator: Auth::Bearer(operator_token.into()) }
    }

    async fn send<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.client.transport().send_as(&call, &self.operator).await?.json()
    }

    async fn post<T: DeserializeOwned>(&self, path: String, body: &impl Serialize) -> Result<T> {
        self.send(Call::write(Method::POST, path, serde_json::to_value(body).ok())).await
    }

    async fn page<T: DeserializeOwned>(&self, path: String, key: &str, query: &Query) -> Result<Page<T>> {
        let body: serde_json::Value = self.send(Call::get(path).query(query.pairs())).await?;
        Page::of(body, key)
    }

    /// `GET /_sandbox/organizations`.
    pub async fn organizations(&self, query: &Query) -> Result<Page<OrganizationSummary>> {
        self.page("/_sandbox/organizations".into(), "organizations", query).await
    }

    /// `POST /_sandbox/organizations`: members with their tokens, a bank account, demo cards.
    pub async fn create_organization(&self, request: &OrganizationRequest) -> Result<CreatedOrganization> {
        self.post("/_sandbox/organizations".into(), request).await
    }

    /// `POST /_operator/tokens`: an access token for a member (every scope unless given).
    pub async fn create_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        self.post("/_operator/tokens".into(), request).await
    }

    /// `POST /_sandbox/organizations/{id}/clock`: forward by `seconds`.
    pub async fn advance_clock(&self, organization: Uuid, seconds: i64) -> Result<Clock> {
        let request = ClockRequest { advance_by: Some(seconds), set: None };
        self.post(format!("/_sandbox/organizations/{organization}/clock"), &request).await
    }

    /// `POST /_sandbox/organizations/{id}/clock`: to `at` (never backwards).
    pub async fn set_clock(&self, organization: Uuid, at: Time) -> Result<Clock> {
        let request = ClockRequest { advance_by: None, set: Some(at) };
        self.post(format!("/_sandbox/organizations/{organization}/clock"), &request).await
    }

    /// `POST /_sandbox/cards/{id}/authorizations`: a payment, approved or declined (a decline
    /// is an answer, with its reason, not an error).
    pub async fn authorize(&self, card: Uuid, request: &AuthorizationRequest) -> Result<AuthorizationBody> {
        let answer: AuthorizationEnvelope =
            self.post(format!("/_sandbox/cards/{card}/authorizations"), request).await?;
        Ok(answer.authorization)
    }

    /// `POST /_sandbox/transactions/{id}/settle`.
    pub async fn settle(&self, transaction: Uuid) -> Result<TransactionBody> {
        let answer: TransactionEnvelope =
            self.post(format!("/_sandbox/transactions/{transaction}/settle"), &()).await?;
        Ok(answer.transaction)
    }

    /// `POST /_sandbox/organizations/{id}/labels`: a label list, or a label in one.
    pub async fn create_label(&self, organization: Uuid, name: &str, parent: Option<Uuid>) -> Result<LabelBody> {
        let request = LabelRequest { name: name.to_owned(), parent_id: parent };
        let answer: LabelEnvelope =
            self.post(format!("/_sandbox/organizations/{organization}/labels"), &request).await?;
        Ok(answer.label)
    }

    /// `PUT /_sandbox/transactions/{id}/labels`: exactly these labels on the transaction.
    pub async fn label_transaction(&self, transaction: Uuid, labels: Vec<Uuid>) -> Result<TransactionBody> {
        let body = serde_json::to_value(TransactionLabels { label_ids: labels }).ok();
        let call = Call::write(Method::PUT, format!("/_sandbox/transactions/{transaction}/labels"), body);
        let answer: TransactionEnvelope = self.send(call).await?;
        Ok(answer.transaction)
    }

    /// `POST /_sandbox/memberships/{id}/accept`: an invited member joins.
    pub async fn accept_invitation(&self, membership: Uuid) -> Result<MembershipDetail> {
        let answer: MembershipEnvelope = self.post(format!("/_sandbox/memberships/{membership}/accept"), &()).await?;
        Ok(answer.membership)
    }

    /// `POST /_sandbox/transactions/{id}/reverse`.
    pub async fn reverse(&self, transaction: Uuid) -> Result<TransactionBody> {
        let answer: TransactionEnvelope =
            self.post(format!("/_sandbox/transactions/{transaction}/reverse"), &()).await?;
        Ok(answer.transaction)
    }

    /// `GET /_operator/cards/{id}/events`: the card's audit trail.
    pub async fn card_events(&self, card: Uuid) -> Result<Events> {
        self.send(Call::get(format!("/_operator/cards/{card}/events"))).await
    }

    /// `GET /_operator/organizations/{id}/webhook_deliveries`.
    pub async fn deliveries(&self, organization: Uuid, query: &Query) -> Result<Page<DeliverySummary>> {
        self.page(format!("/_operator/organizations/{organization}/webhook_deliveries"), "webhook_deliveries", query)
            .await
    }

    /// `GET /_operator/webhook_deliveries/{id}`: the body sent and every attempt.
    pub async fn delivery(&self, id: Uuid) -> Result<DeliveryDetail> {
        let answer: DeliveryEnvelope = self.send(Call::get(format!("/_operator/webhook_deliveries/{id}"))).await?;
        Ok(answer.webhook_delivery)
    }

    /// `POST /_operator/webhook_deliveries/{id}/retry`: due now, whatever its state.
    pub async fn retry_delivery(&self, id: Uuid) -> Result<DeliveryDetail> {
        let answer: DeliveryEnvelope = self.post(format!("/_operator/webhook_deliveries/{id}/retry"), &()).await?;
        Ok(answer.webhook_delivery)
    }

    /// `GET /_sandbox/organizations/{id}/requests`: the request log, newest first.
    pub async fn requests(&self, organization: Uuid, query: &Query) -> Result<Page<LoggedRequestBody>> {
        self.page(format!("/_sandbox/organizations/{organization}/requests"), "requests", query).await
    }

    /// `GET /_sandbox/organizations/{id}/requests/stream`: new requests as they are answered.
    pub async fn request_stream(
        &self,
        organization: Uuid,
        query: &Query,
    ) -> Result<impl Stream<Item = Result<LogEvent>> + use<>> {
        let call = Call::get(format!("/_sandbox/organizations/{organization}/requests/stream")).query(query.pairs());
        let response = self.client.transport().open_stream(&call, &self.operator).await?;
        Ok(eventsource_stream::Eventsource::eventsource(response.bytes_stream()).filter_map(|event| async move {
            match event {
                Ok(event) if event.event == "request" => Some(
                    serde_json::from_str(&event.data)
                        .map(|r| LogEvent::Request(Box::new(r)))
                        .map_err(|e| Error::Decode { status: 200, detail: e.to_string() }),
                ),
                Ok(event) if event.event == "lost" => {
                    let lost = serde_json::from_str::<serde_json::Value>(&event.data).ok()?.get("lost")?.as_u64()?;
                    Some(Ok(LogEvent::Lost(lost)))
                }
                Ok(_) => None,
                Err(e) => Some(Err(Error::Decode { status: 200, detail: e.to_string() })),
            }
        }))
    }
}
