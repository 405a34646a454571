//! The organization and what it holds: `GET /v2/organization`, its bank accounts, its
//! members, the caller's membership, and its transactions.

use crate::pages::{Page, Query};
use crate::transport::Call;
use crate::wire::answers::{BankAccountEnvelope, MembershipEnvelope, OrganizationEnvelope, TransactionEnvelope};
use crate::wire::{BankAccountBody, MembershipDetail, MembershipSummary, OrganizationBody, TransactionBody};
use crate::{Client, Result};
use futures_util::Stream;
use uuid::Uuid;

/// The organization routes of a [`Client`]: `client.organization()`.
pub struct Organization<'a> {
    pub(crate) client: &'a Client,
}

impl<'a> Organization<'a> {
    /// `GET /v2/organization`: the organization with its bank accounts.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// let organization = client.organization().get().await?;
    /// println!("{}", organization.slug);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> Result<OrganizationBody> {
        let body: OrganizationEnvelope = self.client.transport().send(&Call::get("/v2/organization")).await?.json()?;
        Ok(body.organization)
    }

    /// `GET /v2/bank_accounts`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// let accounts = client.organization().bank_accounts(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn bank_accounts(&self, query: &Query) -> Result<Page<BankAccountBody>> {
        self.client.page("/v2/bank_accounts", "bank_accounts", query).await
    }

    /// `GET /v2/bank_accounts/{id}`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// let account = client.organization().bank_account(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn bank_account(&self, id: Uuid) -> Result<BankAccountBody> {
        let call = Call::get(format!("/v2/bank_accounts/{id}"));
        let body: BankAccountEnvelope = self.client.transport().send(&call).await?.json()?;
        Ok(body.bank_account)
    }

    /// `GET /v2/memberships`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// let members = client.organization().memberships(&Default::default()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn memberships(&self, query: &Query) -> Result<Page<MembershipSummary>> {
        self.client.page("/v2/memberships", "memberships", query).await
    }

    /// `GET /v2/membership`: the caller's own.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client) -> Result<(), qonto_client::Error> {
    /// let me = client.organization().membership().await?;
    /// println!("{} ({})", me.first_name, me.role);
    /// # Ok(()) }
    /// ```
    pub async fn membership(&self) -> Result<MembershipDetail> {
        let body: MembershipEnvelope = self.client.transport().send(&Call::get("/v2/membership")).await?.json()?;
        Ok(body.membership)
    }

    /// `GET /v2/transactions`: one page; Qonto asks for an account
    /// (`Query::new().with("bank_account_id", id)` or `.with("iban", …)`).
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, account: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// let query = qonto_client::Query::new().with("bank_account_id", account).with("status[]", "declined");
    /// let declined = client.organization().transactions(&query).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transactions(&self, query: &Query) -> Result<Page<TransactionBody>> {
        self.client.page("/v2/transactions", "transactions", query).await
    }

    /// `GET /v2/transactions`, every page, as one stream.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, account: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// use futures_util::TryStreamExt;
    /// let query = qonto_client::Query::new().with("bank_account_id", account);
    /// let all: Vec<_> = client.organization().transactions_stream(query).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn transactions_stream(&self, query: Query) -> impl Stream<Item = Result<TransactionBody>> + 'a {
        self.client.stream("/v2/transactions", "transactions", query)
    }

    /// `GET /v2/transactions/{id}`.
    ///
    /// ```no_run
    /// # async fn run(client: qonto_client::Client, id: uuid::Uuid) -> Result<(), qonto_client::Error> {
    /// let transaction = client.organization().transaction(id).await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction(&self, id: Uuid) -> Result<TransactionBody> {
        let call = Call::get(format!("/v2/transactions/{id}"));
        let body: TransactionEnvelope = self.client.transport().send(&call).await?.json()?;
        Ok(body.transaction)
    }
}
