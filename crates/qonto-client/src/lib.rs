//! A typed client for Qonto's Business API v2: cards (every route), transactions, the
//! organization, SCA sessions and webhook subscriptions, with the request and answer types of
//! [`cardinal_wire`] (the very types Cardinal serves). It points at Qonto's production host by
//! default; [`Client::builder`]`.base_url(…)` points it at Qonto's sandbox or at Cardinal.
//!
//! What it does for you:
//! - authenticates with an OAuth access token ([`Auth::Bearer`]) or an API key
//!   ([`Auth::ApiKey`], Qonto's `login:secret` header);
//! - sends an `X-Qonto-Idempotency-Key` with every write, and the same key again when an SCA
//!   step is completed, so a write happens once;
//! - returns a write that needs strong customer authentication as [`Sca::Pending`], which
//!   [`Client::resume`] completes once the member approved (poll with
//!   [`Client::wait_for_approval`], or approve in a sandbox with [`Client::approve_in_sandbox`]);
//! - retries a `429` after its `Retry-After` (a few times, then [`Error::RateLimited`]);
//! - reads lists a page at a time, or as one [`futures_util::Stream`] ([`Client::stream`]);
//! - answers every failure as one [`Error`], with Qonto's `errors[]` codes.
//!
//! ```no_run
//! use qonto_client::{Auth, Client, Sca};
//! # async fn run() -> Result<(), qonto_client::Error> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8080") // Cardinal; Qonto's production host by default
//!     .auth(Auth::Bearer("<access token>".into()))
//!     .build()?;
//! let cards = client.cards().list(&Default::default()).await?;
//! let card = &cards.items[0];
//! client.cards().lock(card.id).await?;
//! let card = match client.cards().unlock(card.id).await? {
//!     Sca::Done(card) => card,
//!     Sca::Pending(pending) => {
//!         client.approve_in_sandbox(&pending).await?; // on Qonto: the member's phone
//!         client.resume(pending).await?.done()?
//!     }
//! };
//! assert_eq!(card.status, "live");
//! # Ok(()) }
//! ```

pub mod cardinal;
mod cards;
mod error;
mod organization;
mod pages;
mod sca;
mod transport;
mod webhooks;

pub use cardinal_wire as wire;
pub use cards::Cards;
pub use error::{ApiErrorItem, Error, ErrorSource};
pub use organization::Organization;
pub use pages::{Page, Query};
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
