//! `/v2/cards…`: every card route (spec §3).

use crate::pages::{Page, Query};
use crate::sca::Sca;
use crate::transport::Call;
use crate::wire::answers::{BulkBody, CardBody, DataViewLink};
use crate::wire::requests::{
    BulkCreateRequest, BulkItem, CardFields, CreateCardRequest, LimitFields, LimitsUpdate, Nickname, NicknameUpdate,
    Options, OptionsUpdate, Restrictions, RestrictionsUpdate,
};
use crate::wire::{Appearances, Card};
use crate::{Client, Result};
use futures_util::Stream;
use reqwest::Method;
use serde::Serialize;
use uuid::Uuid;

/// The card routes of a [`Client`]: `client.cards()`.
pub struct Cards<'a> {
    pub(crate) client: &'a Client,
}

fn json(body: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(body).ok()
}

impl<'a> Cards<'a> {
    /// `GET /v2/cards`: one page. Filters as Qonto names them:
    /// `Query::new().with("statuses[]", "live").with("card_levels[]", "virtual").with("query", "Travel")`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// let page = client.cards().list(&qonto_client::Query::new().with("statuses[]", "paused")).await?;
    /// println!("{} paused cards", page.meta.total_count);
    /// # Ok(()) }
    /// ```
    pub async fn list(&self, query: &Query) -> Result<Page<Card>> {
        self.client.page("/v2/cards", "cards", query).await
    }

    /// `GET /v2/cards`, every page, as one stream.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// use futures_util::TryStreamExt;
    /// let all: Vec<_> = client.cards().stream(qonto_client::Query::new()).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn stream(&self, query: Query) -> impl Stream<Item = Result<Card>> + 'a {
        self.client.stream("/v2/cards", "cards", query)
    }

    /// `GET /v2/cards/{id}`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// let card = client.cards().get(id).await?;
    /// println!("{} is {}", card.id, card.status);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: Uuid) -> Result<Card> {
        let body: CardBody = self.client.transport().send(&Call::get(format!("/v2/cards/{id}"))).await?.json()?;
        Ok(body.card)
    }

    /// `POST /v2/cards` (owners and admins, with SCA).
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, fields: qonto_client::wire::requests::CardFields) -> Result<(), qonto_client::Error> {
    /// let card = match client.cards().create(fields).await? {
    ///     qonto_client::Sca::Done(card) => card,
    ///     qonto_client::Sca::Pending(pending) => {
    ///         client.approve_in_sandbox(&pending).await?;
    ///         client.resume(pending).await?.done()?
    ///     }
    /// };
    /// # Ok(()) }
    /// ```
    pub async fn create(&self, card: CardFields) -> Result<Sca<Card>> {
        self.card_write(Call::write(Method::POST, "/v2/cards", json(&CreateCardRequest { card }))).await
    }

    /// `POST /v2/cards/bulk`: 1 to 50 cards, all or none (with SCA).
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, a: qonto_client::wire::requests::CardFields) -> Result<(), qonto_client::Error> {
    /// let made = client.cards().bulk_create(vec![a]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn bulk_create(&self, cards: Vec<CardFields>) -> Result<Sca<BulkBody>> {
        let cards = cards.into_iter().map(|card| BulkItem::Wrapped { card }).collect();
        let call = Call::write(Method::POST, "/v2/cards/bulk", json(&BulkCreateRequest { cards }));
        self.client.write_with_sca(call, None).await
    }

    /// `GET /v2/cards/appearances`: the designs of each level.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// let designs = client.cards().appearances().await?;
    /// # Ok(()) }
    /// ```
    pub async fn appearances(&self) -> Result<Appearances> {
        self.client.transport().send(&Call::get("/v2/cards/appearances")).await?.json()
    }

    /// `GET /v2/cards/{id}/data_view`: a single-use link to an iframe showing the card's
    /// number and CVV.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// let link = client.cards().data_view(id).await?;
    /// println!("{}", link.iframe_url);
    /// # Ok(()) }
    /// ```
    pub async fn data_view(&self, id: Uuid) -> Result<DataViewLink> {
        self.client.transport().send(&Call::get(format!("/v2/cards/{id}/data_view"))).await?.json()
    }

    /// `PUT /v2/cards/{id}/lock`: `paused` (locking again changes nothing).
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// assert_eq!(client.cards().lock(id).await?.status, "paused");
    /// # Ok(()) }
    /// ```
    pub async fn lock(&self, id: Uuid) -> Result<Card> {
        self.action(id, "lock").await?.done()
    }

    /// `PUT /v2/cards/{id}/unlock` (owners and admins, with SCA).
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// if let qonto_client::Sca::Pending(pending) = client.cards().unlock(id).await? {
    ///     client.wait_for_approval(&pending, std::time::Duration::from_secs(2), std::time::Duration::from_secs(300)).await?;
    ///     client.resume(pending).await?.done()?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn unlock(&self, id: Uuid) -> Result<Sca<Card>> {
        self.action(id, "unlock").await
    }

    /// `PUT /v2/cards/{id}/lost`: a physical card, for good.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// client.cards().report_lost(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn report_lost(&self, id: Uuid) -> Result<Card> {
        self.action(id, "lost").await?.done()
    }

    /// `PUT /v2/cards/{id}/stolen`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// client.cards().report_stolen(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn report_stolen(&self, id: Uuid) -> Result<Card> {
        self.action(id, "stolen").await?.done()
    }

    /// `PUT /v2/cards/{id}/discard`: a virtual card, for good.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// client.cards().discard(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn discard(&self, id: Uuid) -> Result<Card> {
        self.action(id, "discard").await?.done()
    }

    /// `PATCH /v2/cards/{id}/limits` (owners and admins, with SCA).
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// use qonto_client::wire::{requests::LimitFields, Limit};
    /// let limits = LimitFields { payment_monthly_limit: Some(Limit(cardinal_domain::Cents::euros(2000))), ..Default::default() };
    /// let changed = client.cards().update_limits(id, limits).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_limits(&self, id: Uuid, limits: LimitFields) -> Result<Sca<Card>> {
        let call = Call::write(Method::PATCH, format!("/v2/cards/{id}/limits"), json(&LimitsUpdate { card: limits }));
        self.card_write(call).await
    }

    /// `PATCH /v2/cards/{id}/nickname`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// client.cards().update_nickname(id, "Travel").await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_nickname(&self, id: Uuid, nickname: &str) -> Result<Card> {
        let body = NicknameUpdate { card: Nickname { nickname: nickname.to_owned() } };
        self.card_write(Call::write(Method::PATCH, format!("/v2/cards/{id}/nickname"), json(&body))).await?.done()
    }

    /// `PATCH /v2/cards/{id}/options`: all four options.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// use qonto_client::wire::requests::Options;
    /// let options = Options { atm_option: false, nfc_option: true, online_option: true, foreign_option: false };
    /// client.cards().update_options(id, options).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_options(&self, id: Uuid, options: Options) -> Result<Card> {
        let body = OptionsUpdate { card: options };
        self.card_write(Call::write(Method::PATCH, format!("/v2/cards/{id}/options"), json(&body))).await?.done()
    }

    /// `PATCH /v2/cards/{id}/restrictions`: active days and merchant categories.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// use qonto_client::wire::requests::Restrictions;
    /// let weekdays = Restrictions { active_days: Some(vec![1, 2, 3, 4, 5]), categories: None };
    /// client.cards().update_restrictions(id, weekdays).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_restrictions(&self, id: Uuid, restrictions: Restrictions) -> Result<Card> {
        let body = RestrictionsUpdate { card: restrictions };
        self.card_write(Call::write(Method::PATCH, format!("/v2/cards/{id}/restrictions"), json(&body))).await?.done()
    }

    async fn action(&self, id: Uuid, action: &str) -> Result<Sca<Card>> {
        self.card_write(Call::write(Method::PUT, format!("/v2/cards/{id}/{action}"), None)).await
    }

    /// A write whose answer is `{"card": {...}}`.
    async fn card_write(&self, call: Call) -> Result<Sca<Card>> {
        self.client.write_with_sca(call, Some("card")).await
    }
}
