//! A typed client for Qonto's Business API v2 and for Cardinal, the local Qonto sandbox.
//! The crate's README, below, is its guide; its example is compiled as a doctest.
#![doc = include_str!("../README.md")]

pub mod cardinal;
mod cards;
mod error;
mod organization;
mod pages;
mod receipts;
mod sca;
mod transport;
mod webhooks;

pub use cardinal_wire as wire;
pub use cards::Cards;
pub use error::{ApiErrorItem, Error, ErrorSource};
pub use organization::Organization;
pub use pages::{Page, Query};
pub use receipts::Receipts;
pub use sca::{PendingSca, Sca};
pub use transport::Auth;
pub use webhooks::WebhookSubscriptions;

use std::sync::Arc;
use std::time::Duration;
use transport::Transport;

/// Qonto's production API.
pub const PRODUCTION: &str = "https://thirdparty.qonto.com";
/// Qonto's sandbox API (it also needs a staging token: [`ClientBuilder::staging_token`]).
pub const SANDBOX: &str = "https://thirdparty-sandbox.staging.qonto.co";

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A client of one API host, as one credential. Cloning it is cheap (one shared connection
/// pool).
#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
}

/// How a [`Client`] is made: [`Client::builder`].
pub struct ClientBuilder {
    base_url: String,
    auth: Option<Auth>,
    staging_token: Option<String>,
    retries: u32,
    timeout: Duration,
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            base_url: PRODUCTION.to_owned(),
            auth: None,
            staging_token: None,
            retries: 3,
            timeout: Duration::from_secs(30),
        }
    }

    /// `/v2/cards…`.
    pub fn cards(&self) -> Cards<'_> {
        Cards { client: self }
    }

    /// `/v2/organization`, `/v2/bank_accounts…`, `/v2/memberships`, `/v2/membership`,
    /// `/v2/transactions…`.
    pub fn organization(&self) -> Organization<'_> {
        Organization { client: self }
    }

    /// `/v2/attachments…`, `/v2/transactions/{id}/attachments…`, `/v2/labels…`.
    pub fn receipts(&self) -> Receipts<'_> {
        Receipts { client: self }
    }

    /// `/v2/webhook_subscriptions…`.
    pub fn webhook_subscriptions(&self) -> WebhookSubscriptions<'_> {
        WebhookSubscriptions { client: self }
    }

    /// Where this client sends its requests.
    pub fn base_url(&self) -> &str {
        &self.transport.base_url
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }
}

impl ClientBuilder {
    /// Qonto's production host by default; [`SANDBOX`], or a Cardinal server
    /// (`http://127.0.0.1:8080`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// `X-Qonto-Staging-Token` on every request (Qonto's sandbox; Cardinal when started with
    /// `--staging-token`).
    pub fn staging_token(mut self, token: impl Into<String>) -> Self {
        self.staging_token = Some(token.into());
        self
    }

    /// How many times a `429` is retried after its `Retry-After` (default 3).
    pub fn rate_limit_retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// How long one request may take (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn build(self) -> Result<Client> {
        let auth = self.auth.ok_or_else(|| Error::Config("a credential is needed: .auth(Auth::…)".into()))?;
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return Err(Error::Config(format!("{:?} is not an http(s) URL", self.base_url)));
        }
        let transport = Transport::new(self.base_url, auth, self.staging_token, self.retries, self.timeout)?;
        Ok(Client { transport: Arc::new(transport) })
    }
}
