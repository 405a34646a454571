//! Cardinal's application core: each use case written once, typed, below HTTP. The `/v2`
//! handlers, the operator and sandbox control APIs, and every later door (OAuth, the console,
//! a CLI) parse their input, call these functions and render what they return.
//!
//! - [`cards`]: new cards checked and issued; a card changed by a member or by the system,
//!   through one commit; card expiry as the organization's clock reaches it;
//! - [`issuing`]: card numbers sealed, the audit events and webhook events of card changes;
//! - [`payments`]: simulated authorizations, settlements and reversals;
//! - [`transactions`], [`receipts`], [`labels`]: transactions as members see them, their
//!   receipts (files checked by content) and labels;
//! - [`webhooks`]: a member's subscriptions, which addresses a webhook may dial, signatures,
//!   and the delivery worker;
//! - [`oauth`]: PKCE's S256 and the OAuth server's opaque tokens (the grant rules are the
//!   domain's);
//! - [`request_log`]: the sandbox's log of each organization's last `/v2` requests;
//! - [`issues`]: a use case's findings in a request, each at its pointer, all at once;
//! - [`secrets`]: the card-data vault, tokens and their hashes.
//!
//! It depends on the domain, the store and the wire shapes (webhook payloads are Qonto's
//! JSON), never on axum.

pub mod cards;
pub mod issues;
pub mod issuing;
pub mod labels;
pub mod net;
pub mod oauth;
pub mod organization;
pub mod payments;
pub mod receipts;
pub mod request_log;
pub mod requests;
pub mod sca;
pub mod secrets;
pub mod spans;
pub mod teams;
pub mod transactions;
pub mod webhooks;

/// Identifiers are minted in the store crate, where the outbox mints delivery ids too.
pub use cardinal_store::ids;
pub use cardinal_wire as wire;

use cardinal_store::{HealthRules, Store};
use oauth::id_token::SigningKey;
use request_log::RequestLog;
use sca::changes::ScaChanges;
use secrets::CardVault;
use std::sync::Arc;
use webhooks::address::{AddressPolicy, HostResolver};

/// Whether the sandbox surfaces exist (spec §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sandbox,
    Production,
}

/// How webhooks are delivered: retries, the addresses they may dial, when a failing receiver
/// is slowed and disabled.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// The waits before each next attempt; after the last, the delivery is failed.
    pub retry_delays: Vec<jiff::SignedDuration>,
    pub addresses: AddressPolicy,
    pub health: HealthRules,
}

/// What every use case works with. Cloning it is one atomic increment.
#[derive(Clone)]
pub struct App(Arc<Core>);

pub struct Core {
    pub store: Arc<dyn Store>,
    /// Seals and opens card numbers and webhook secrets.
    pub vault: CardVault,
    pub webhooks: WebhookPolicy,
    /// Resolves callback hosts, for the subscription check and for the delivery client alike.
    pub resolver: Arc<dyn HostResolver>,
    /// Where clients reach this server: the OAuth issuer (`iss`) and the metadata's URLs.
    pub public_url: String,
    /// The OpenID signing key, loaded (or made, at the first start) on first use.
    signing_key: tokio::sync::OnceCell<Arc<SigningKey>>,
    /// Each organization's last `/v2` requests (sandbox mode).
    pub requests: RequestLog,
    /// Announces an organization's SCA sessions opened or answered (the console's live list).
    pub sca_changes: ScaChanges,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        vault: CardVault,
        webhooks: WebhookPolicy,
        resolver: Arc<dyn HostResolver>,
        public_url: String,
    ) -> App {
        let signing_key = tokio::sync::OnceCell::new();
        let requests = RequestLog::default();
        let sca_changes = ScaChanges::default();
        App(Arc::new(Core { store, vault, webhooks, resolver, public_url, signing_key, requests, sca_changes }))
    }

    /// The OpenID signing key: the stored one, or a new one stored now (the first start).
    pub async fn signing_key(&self) -> Result<Arc<SigningKey>, String> {
        self.signing_key
            .get_or_try_init(|| async {
                SigningKey::load_or_create(self.store.as_ref(), &self.vault).await.map(Arc::new)
            })
            .await
            .cloned()
    }
}

impl std::ops::Deref for App {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.0
    }
}
