//! The storage boundary of Cardinal.
//!
//! [`Store`] is shaped by use cases, not tables: each method is one transaction. Card changes
//! go through [`Store::update_card`], which hands the locked card to a pure closure holding
//! the rules, so every backend runs the same rules and only the persistence differs.

mod attachments;
pub mod bounded;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod documents;
mod idempotency;
pub mod ids;
mod oauth;
mod requests;
pub mod sql;
pub mod staleness;
pub mod telemetry;
mod transactions;
mod types;
mod webhooks;

pub use attachments::*;
pub use idempotency::*;
pub use oauth::*;
pub use requests::*;
pub use transactions::*;
pub use types::*;
pub use webhooks::*;

use async_trait::async_trait;
use cardinal_domain::DomainError;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A domain rule refused the change; nothing was written.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A uniqueness rule was broken (e.g. a slug already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database failed; the cause is for logs, never for clients.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The database cannot take the operation now — unreachable, restarting, or out of
    /// space — and nothing was written (or, for a commit whose answer was lost, the caller
    /// cannot know: an idempotency key makes the retry safe). Worth retrying later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The SCA session a change meant to redeem was used, denied or expired meanwhile;
    /// nothing was written.
    #[error("the SCA session has already been used")]
    ScaSessionUsed,
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Decides a card change inside the store's transaction, on the freshly locked card, and
/// says what to write with it.
pub type CardChange = Box<dyn FnMut(&mut StoredCard) -> Result<CardWrite, DomainError> + Send + 'static>;

/// What a decided card change commits, all in the card's transaction: the card itself when
/// there is an audit event (a change that changed nothing has none and writes no card), and
/// the SCA session the request redeems. Every card action passes here, so what must be
/// written with each change (its outbox event, next) is added in one place per backend.
#[derive(Debug, Clone, Default)]
pub struct CardWrite {
    /// The audit event of a change; `None` when the card is as it was.
    pub event: Option<AuditEvent>,
    /// The events this change reports (`v1/cards`), written with it for the subscriptions of
    /// its organization to their topic.
    pub events: Vec<OutboxEvent>,
    /// The allowed SCA session this request spends. It is marked used in the same
    /// transaction; a session used meanwhile (by a concurrent request) fails the whole change
    /// with [`StoreError::ScaSessionUsed`].
    pub redeems_sca: Option<ScaRedemption>,
}

/// An allowed SCA session to mark used, on its organization's clock.
#[derive(Debug, Clone, Copy)]
pub struct ScaRedemption {
    pub token_hash: [u8; 32],
    pub now: jiff::Timestamp,
}

impl CardWrite {
    /// Nothing to write: the card is unchanged and no session is spent.
    pub const NOTHING: CardWrite = CardWrite { event: None, events: Vec::new(), redeems_sca: None };

    /// A change recorded by `event`.
    pub fn of(event: AuditEvent) -> CardWrite {
        CardWrite { event: Some(event), events: Vec::new(), redeems_sca: None }
    }
}

/// Everything Cardinal keeps, one transaction per use case. Each backend implements every part
/// in the module of that concern; `Store` is the sum, what `Arc<dyn Store>` holds.
pub trait Store:
    SettingStore
    + OrganizationStore
    + OperatorStore
    + CredentialStore
    + CardStore
    + ScaStore
    + IdempotencyStore
    + PaymentStore
    + WebhookStore
    + OAuthStore
    + CardRequestStore
    + ReceiptStore
    + 'static
{
}

impl<T> Store for T where
    T: SettingStore
        + OrganizationStore
        + OperatorStore
        + CredentialStore
        + CardStore
        + ScaStore
        + IdempotencyStore
        + PaymentStore
        + WebhookStore
        + OAuthStore
        + CardRequestStore
        + ReceiptStore
        + 'static
{
}

/// Server-wide settings, and what a key rotation walks: sealed card secrets and webhook secrets.
#[async_trait]
pub trait SettingStore: Send + Sync {
    /// Whether the database holds no organization yet (first run).
    async fn is_empty(&self) -> StoreResult<bool>;
    /// Whether the database answers and would take a write now (`/readyz`): a server that
    /// is read-only (a standby) is `Unavailable`.
    async fn ready_for_writes(&self) -> StoreResult<()> {
        self.is_empty().await.map(|_| ())
    }
    /// Server-wide settings, e.g. the hash of the generated admin token.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Stores `value` unless the key already has one; returns the value now stored. Several
    /// processes starting together therefore agree on one value.
    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String>;
    /// Replaces a setting's value, or removes the setting with `None`.
    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()>;
}

/// Organizations, their clocks, bank accounts and members.
#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Creates an organization with everything in it, all or nothing.
    async fn create_organization(&self, seed: OrganizationSeed) -> StoreResult<()>;
    /// Removes an organization and everything in it. False when there was none.
    async fn delete_organization(&self, id: Uuid) -> StoreResult<bool>;
    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>>;
    /// Moves an organization's clock forward, never backwards, in one statement so that
    /// concurrent moves all count. Returns the organization as it is after the call; `None`
    /// if there is none.
    async fn advance_clock(&self, id: Uuid, change: ClockChange) -> StoreResult<Option<Organization>>;
    async fn bank_accounts(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<BankAccount>>;
    async fn bank_account(&self, org: Uuid, id: Uuid) -> StoreResult<Option<BankAccount>>;
    async fn memberships(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<Membership>>;
    async fn membership(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Membership>>;
    /// A membership of any organization (control API).
    async fn membership_by_id(&self, id: Uuid) -> StoreResult<Option<Membership>>;
    /// An invited member joins (`invited` → `active`), with the events that report it; false
    /// when they are not (or no longer) invited, and nothing is written.
    async fn accept_invitation(&self, id: Uuid, events: Vec<OutboxEvent>) -> StoreResult<bool>;
}

/// What the operator API does across or to whole organizations.
#[async_trait]
pub trait OperatorStore: Send + Sync {
    /// Every organization, oldest first (operator API).
    async fn organizations(&self, page: PageRequest) -> StoreResult<Page<Organization>>;
    /// Adds teams, bank accounts, members and credentials to an organization, all or nothing.
    /// False when there is no such organization.
    async fn extend_organization(&self, org: Uuid, parts: OrganizationParts) -> StoreResult<bool>;
    /// The organization's teams, by name.
    async fn teams(&self, org: Uuid) -> StoreResult<Vec<Team>>;
    /// What `/metrics` reads of the database at a scrape: waiting SCA sessions, the webhook
    /// queue, the connection pool.
    async fn gauges(&self) -> StoreResult<telemetry::StoreGauges>;
    /// The legal identity the control API set (a JSON document), if it set one.
    async fn legal_profile(&self, org: Uuid) -> StoreResult<Option<String>>;
    /// Keeps `document` as the organization's legal identity; false when there is no such
    /// organization.
    async fn set_legal_profile(&self, org: Uuid, document: String) -> StoreResult<bool>;
    /// Revokes the organization's live API key at `at` and, with `Some`, issues this one in its
    /// place, together. False when the organization had no live key and none is issued.
    async fn replace_api_key(&self, org: Uuid, new: Option<NewCredential>, at: jiff::Timestamp) -> StoreResult<bool>;
    /// The snapshot an organization was created with ([`OrganizationSeed::snapshot`]).
    async fn organization_snapshot(&self, org: Uuid) -> StoreResult<Option<String>>;
    /// Brings an organization back to its seeded state ([`OrganizationReset`]) in one
    /// transaction. False when there is no such organization.
    async fn reset_organization(&self, org: Uuid, reset: OrganizationReset) -> StoreResult<bool>;
}

/// Access tokens and API keys, found by their secrets' hashes.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// The credential whose secret hashes to `secret_hash`, with who it belongs to.
    async fn credential_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<Credential>>;
    /// The API key of the organization with this slug.
    async fn api_key_by_slug(&self, slug: &str) -> StoreResult<Option<Credential>>;
    async fn insert_credential(&self, credential: NewCredential) -> StoreResult<()>;
    /// Revokes an access token. False when no such live token exists.
    async fn revoke_credential(&self, secret_hash: &[u8; 32], at: jiff::Timestamp) -> StoreResult<bool>;
}

/// Cards: lists, changes in one transaction each, new cards, audit trails, data-view links, sealed secrets.
#[async_trait]
pub trait CardStore: Send + Sync {
    /// Sealed card secrets in card-id order, after `after`, at most `limit`: what a key
    /// rotation walks through.
    async fn sealed_cards(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<(Uuid, CardSecrets)>>;
    /// Replaces the sealed secrets of these cards, all in one transaction.
    async fn reseal_cards(&self, cards: Vec<(Uuid, CardSecrets)>) -> StoreResult<()>;
    /// Shared like [`CardStore::card`]'s: a page may hand out cards a cache already holds.
    async fn list_cards(&self, query: &CardQuery) -> StoreResult<Page<Arc<StoredCard>>>;
    /// Shared, not copied: a read of a cached card costs no copy of it.
    async fn card(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Arc<StoredCard>>>;
    /// A card of any organization (control API).
    async fn card_by_id(&self, id: Uuid) -> StoreResult<Option<Arc<StoredCard>>>;
    /// Runs `change` on the card under a write lock and commits what it returns (the card, its
    /// audit event, the SCA session it redeems) together. A missing card is
    /// `DomainError::NotFound`.
    async fn update_card(&self, org: Uuid, id: Uuid, change: CardChange) -> StoreResult<StoredCard>;
    /// Inserts new cards, their audit events and the webhook events they report, all or
    /// nothing. Holders must be members of the cards' organization.
    async fn insert_cards(
        &self,
        cards: Vec<NewCard>,
        events: Vec<AuditEvent>,
        outbox: Vec<OutboxEvent>,
    ) -> StoreResult<Vec<StoredCard>>;
    async fn insert_data_view_token(&self, token: DataViewToken) -> StoreResult<()>;
    /// Uses a data-view token once: if it is unused and unexpired on its organization's clock
    /// at `real_now`, marks it used, appends the audit event `audit` builds, and returns the
    /// card with its sealed secrets.
    async fn open_data_view(
        &self,
        token_hash: &[u8; 32],
        real_now: jiff::Timestamp,
        audit: DataViewAudit,
    ) -> StoreResult<Option<(StoredCard, CardSecrets)>>;
    /// Up to `limit` cards of the organization that read as `expired` at `now` (its clock)
    /// but are not stored so yet: not terminal, no flash budget window, past `expires_at`.
    async fn cards_due_to_expire(&self, org: Uuid, now: jiff::Timestamp, limit: u32) -> StoreResult<Vec<Uuid>>;
    /// The card's audit events, oldest first: all of them, or only the `newest` so many (a card
    /// changed every day for years has thousands; a page shows the latest).
    async fn card_events(&self, org: Uuid, card: Uuid, newest: Option<u32>) -> StoreResult<Vec<AuditEvent>>;
}

/// Strong customer authentication sessions.
#[async_trait]
pub trait ScaStore: Send + Sync {
    async fn insert_sca_session(&self, session: ScaSession) -> StoreResult<()>;
    async fn sca_session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ScaSession>>;
    /// Records the member's decision on a session still waiting. Returns the session as it is.
    async fn decide_sca_session(&self, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>>;
    /// Marks an allowed, unexpired, unused session used. False if it was not (any more).
    async fn consume_sca_session(&self, token_hash: &[u8; 32], now: jiff::Timestamp) -> StoreResult<bool>;
    /// An organization's sessions still waiting for the member's answer and unexpired at
    /// `now`, newest first, at most `limit` (the console's pending list, as a phone shows it).
    async fn waiting_sca_sessions(&self, org: Uuid, now: jiff::Timestamp, limit: u32) -> StoreResult<Vec<ScaSession>>;
}

/// Idempotency keys: claim, replay, release.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn begin_idempotent(&self, request: IdempotencyRequest) -> StoreResult<IdempotencyBegin>;
    /// Stores the answer to replay for a key this claim started (nothing if the claim is gone).
    async fn finish_idempotent(&self, claim: IdempotencyClaim, status: u16, body: Vec<u8>) -> StoreResult<()>;
    /// Forgets a key this claim started and whose request did not succeed, so it may be
    /// retried; nothing if the claim is not (or no longer) there.
    async fn abandon_idempotent(&self, claim: IdempotencyClaim) -> StoreResult<()>;
}

/// Card payments and the transactions they make.
#[async_trait]
pub trait PaymentStore: Send + Sync {
    /// Runs a payment decision on the card (locked for writing) and its bank account, then
    /// writes card, account and the returned transaction together.
    async fn pay(&self, org: Uuid, card: Uuid, change: PaymentChange) -> StoreResult<(StoredCard, Transaction)>;
    /// Changes a transaction of any organization with its card and account, all together.
    async fn change_transaction(&self, id: Uuid, change: TransactionChange) -> StoreResult<(Transaction, StoredCard)>;
    async fn transaction(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Transaction>>;
    /// The organization a transaction of any organization belongs to (control API).
    async fn transaction_organization(&self, id: Uuid) -> StoreResult<Option<Uuid>>;
    async fn list_transactions(&self, query: &TransactionQuery) -> StoreResult<Page<Transaction>>;
}

/// Webhook subscriptions and the deliveries of the outbox's events.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn insert_webhook_subscription(&self, subscription: WebhookSubscription) -> StoreResult<()>;
    /// Every subscription's sealed secret, for a key rotation.
    async fn webhook_secrets(&self) -> StoreResult<Vec<(Uuid, Vec<u8>)>>;
    /// Replaces these subscriptions' sealed secrets, in one transaction.
    async fn reseal_webhook_secrets(&self, secrets: Vec<(Uuid, Vec<u8>)>) -> StoreResult<()>;
    /// The subscriptions `membership` made in `org` (all of `org`'s with `None`), oldest first.
    async fn webhook_subscriptions(
        &self,
        org: Uuid,
        membership: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<WebhookSubscription>>;
    async fn webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<Option<WebhookSubscription>>;
    /// Replaces a subscription's URL, types and description. False when there is none.
    async fn update_webhook_subscription(&self, subscription: WebhookSubscription) -> StoreResult<bool>;
    /// Removes a subscription and its deliveries. False when there was none.
    async fn delete_webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<bool>;
    /// Takes the lease of at most `limit` deliveries due at `now` (real time) whose lease is
    /// free or expired and that no earlier pending delivery of the same subscription and
    /// ordering key precedes; each is then attempted by `owner` only, until `lease_until`.
    /// At most `share.room` of them, within `share`'s caps per subscription and organization.
    async fn claim_webhook_deliveries(
        &self,
        owner: Uuid,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
        share: &FairShare,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records attempts and their outcomes in one write, and frees their leases, where `owner`
    /// still holds them. One answer per attempt, in order: false where it does not (its lease
    /// expired and another worker took the delivery), and that attempt is not recorded. The
    /// attempts' subscriptions' health follows `rules` ([`SubscriptionHealth::after`]).
    async fn record_webhook_attempts(
        &self,
        owner: Uuid,
        attempts: Vec<(DeliveryAttempt, AttemptOutcome)>,
        rules: HealthRules,
    ) -> StoreResult<Vec<bool>>;
    async fn webhook_deliveries(&self, query: &DeliveryQuery) -> StoreResult<Page<WebhookDelivery>>;
    /// A delivery of any organization with its attempts, oldest first.
    async fn webhook_delivery(&self, id: Uuid) -> StoreResult<Option<(WebhookDelivery, Vec<DeliveryAttempt>)>>;
    /// Makes a delivery due now whatever its state (pending again if it had failed or was
    /// delivered), lease freed. False when there is none.
    async fn retry_webhook_delivery(&self, id: Uuid, now: jiff::Timestamp) -> StoreResult<bool>;
}

/// The OAuth 2.0 server's clients, codes, grants and refresh tokens ([`oauth`]). Every write
/// that revokes tokens also stops the access tokens it names at once (their credentials).
#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// Registers a client. A `client_id` already taken is a [`StoreError::Conflict`].
    async fn insert_oauth_client(&self, client: OAuthClient) -> StoreResult<()>;
    /// Every client, oldest first.
    async fn oauth_clients(&self, page: PageRequest) -> StoreResult<Page<OAuthClient>>;
    async fn oauth_client(&self, id: &str) -> StoreResult<Option<OAuthClient>>;
    /// Removes a client with its codes and grants: every token it issued stops working.
    /// False when there was none.
    async fn delete_oauth_client(&self, id: &str) -> StoreResult<bool>;
    async fn insert_oauth_code(&self, code: NewAuthorizationCode) -> StoreResult<()>;
    async fn oauth_code(&self, code_hash: &[u8; 32]) -> StoreResult<Option<StoredAuthorizationCode>>;
    /// Uses a code once: marks it used by a new grant (`grant_id`, the code's consent) and
    /// writes `issue`'s tokens, all together, if nobody used it meanwhile. False (nothing
    /// written) when it was used.
    async fn redeem_oauth_code(&self, code_hash: &[u8; 32], grant_id: Uuid, issue: TokenIssue) -> StoreResult<bool>;
    async fn oauth_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrant>>;
    /// A client's consents in force (grants not revoked), newest first, at most 100.
    async fn oauth_consents(&self, client_id: &str) -> StoreResult<Vec<OAuthGrant>>;
    /// Revokes a grant and every token it issued, at `at`. False when it was already revoked
    /// or there is none.
    async fn revoke_oauth_grant(&self, id: Uuid, at: jiff::Timestamp) -> StoreResult<bool>;
    async fn oauth_refresh_token(&self, token_hash: &[u8; 32]) -> StoreResult<Option<StoredRefreshToken>>;
    /// Rotates a refresh token: records its first use at `issue.issued_at` (a later use
    /// keeps the first) and writes `issue`'s tokens in the same grant, together, unless the
    /// grant was revoked meanwhile (false, nothing written).
    async fn rotate_oauth_refresh_token(&self, token_hash: &[u8; 32], issue: TokenIssue) -> StoreResult<bool>;
    /// Revokes every live grant `membership_id` gave `client_id` (the member withdrew the
    /// consent), at `at`, and when there was one writes `event` (`v1/consent-revocations`) in
    /// the same transaction; how many grants.
    async fn withdraw_oauth_consent(
        &self,
        client_id: &str,
        membership_id: Uuid,
        at: jiff::Timestamp,
        event: OutboxEvent,
    ) -> StoreResult<u64>;
}
