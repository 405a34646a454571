//! Cardinal's embedded backend: SQLite with WAL, `synchronous=FULL`, foreign keys and
//! group commit. See [`engine`] for the write path.

mod cache;
mod cards;
mod credentials;
mod engine;
mod idempotency;
mod leases;
mod migrations;
mod operator;
mod organizations;
mod rows;
mod sca;
mod settings;
mod stats;
mod transactions;
mod webhook_health;
mod webhooks;

pub use engine::Location;

use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::sql::{
    all_rows, card_list_counted, organization_rows, snapshot_key, transaction_list, CardCounting, Dialect, Statement,
    CARD_FROM, CARD_SELECT, RESET_DELETIONS, TRANSACTION_COLUMNS,
};
use cardinal_store::*;
use cards::*;
use credentials::*;
use engine::Engine;
use jiff::Timestamp;
use rows::*;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql};
use sca::spend_sca_session;
use std::sync::LazyLock;
use uuid::Uuid;
use webhooks::write_outbox;

pub struct SqliteStore {
    engine: Engine,
    cache: std::sync::Arc<cache::Cache>,
    /// Webhook delivery leases. One process owns a SQLite database (its engine is the only
    /// writer), so a lease lives in that process's memory, and a claim is a read, not a write
    /// through the single writer the card changes need.
    leases: leases::Leases,
}

impl SqliteStore {
    /// A card from the cache, or from the database (then cached).
    async fn cached_card(&self, id: Uuid) -> StoreResult<Option<StoredCard>> {
        if let Some(hit) = self.cache.card(id) {
            return Ok(Some(hit));
        }
        let epoch = self.cache.epoch();
        let found = self.engine.read(move |conn| load_card(conn, None, id)).await?;
        if let Some(card) = &found {
            self.cache.fill_card(epoch, card);
        }
        Ok(found)
    }

    /// Opens (creating if needed) and migrates the database at `url`
    /// (`sqlite://path` or `sqlite::memory:`).
    /// Opens `sqlite://path`, `sqlite::memory:`; `?max_pages=N` caps the database at N pages
    /// (SQLite's `max_page_count`): writes past it fail as `Unavailable`, reads go on.
    pub fn open(url: &str) -> StoreResult<SqliteStore> {
        SqliteStore::open_with_timeout(url, engine::DEFAULT_BUSY_TIMEOUT)
    }

    /// The same, waiting `busy` for another process's lock on the file before an operation
    /// answers `Unavailable`.
    pub fn open_with_timeout(url: &str, busy: std::time::Duration) -> StoreResult<SqliteStore> {
        let location =
            Location::parse(url).ok_or_else(|| StoreError::Backend(format!("not a SQLite database URL: {url}")))?;
        let max_pages = engine::url_option(url, "max_pages")
            .map(|v| v.parse::<u64>().map_err(|_| StoreError::Backend(format!("max_pages must be a number in {url}"))))
            .transpose()?;
        Ok(SqliteStore {
            engine: Engine::open_with(location, max_pages, busy)?,
            cache: Default::default(),
            leases: Default::default(),
        })
    }
}

/// Maps SQLite failures, turning uniqueness violations into `Conflict`.
fn sql(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, message) = &e {
        if code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return StoreError::Conflict(message.clone().unwrap_or_else(|| "already exists".into()));
        }
    }
    engine::classify(e)
}

fn page_of<T>(items: Vec<T>, total: i64) -> Page<T> {
    Page { items, total: total.max(0) as u64 }
}

// Statements on the hot paths are built once: building them per call costs allocations and a
// statement-cache lookup keyed by a freshly made string.

/// Binds the shared statements' values for rusqlite.
fn sql_values(values: &[cardinal_store::sql::SqlValue]) -> Vec<Box<dyn ToSql>> {
    use cardinal_store::sql::SqlValue;
    values
        .iter()
        .map(|v| -> Box<dyn ToSql> {
            match v {
                SqlValue::Text(t) => Box::new(t.clone()),
                SqlValue::Int(i) => Box::new(*i),
                SqlValue::NullText => Box::new(Option::<String>::None),
            }
        })
        .collect()
}

/// Runs a shared `(count, page)` pair.
fn run_list<T>(
    conn: &Connection,
    (count, page): (Statement, Statement),
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> StoreResult<Page<T>> {
    let total: i64 = conn
        .prepare_cached(&count.text)
        .and_then(|mut s| s.query_row(params_from_iter(sql_values(&count.values).iter()), |r| r.get(0)))
        .map_err(sql)?;
    let items = conn
        .prepare_cached(&page.text)
        .and_then(|mut s| s.query_map(params_from_iter(sql_values(&page.values).iter()), row)?.collect())
        .map_err(sql)?;
    Ok(page_of(items, total))
}

#[async_trait]
impl Store for SqliteStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        SqliteStore::is_empty(self).await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        SqliteStore::setting(self, key).await
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        SqliteStore::init_setting(self, key, value).await
    }

    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        SqliteStore::set_setting(self, key, value).await
    }

    async fn sealed_cards(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<(Uuid, CardSecrets)>> {
        SqliteStore::sealed_cards(self, after, limit).await
    }

    async fn reseal_cards(&self, cards: Vec<(Uuid, CardSecrets)>) -> StoreResult<()> {
        SqliteStore::reseal_cards(self, cards).await
    }

    async fn create_organization(&self, seed: OrganizationSeed) -> StoreResult<()> {
        SqliteStore::create_organization(self, seed).await
    }

    async fn delete_organization(&self, id: Uuid) -> StoreResult<bool> {
        SqliteStore::delete_organization(self, id).await
    }

    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        SqliteStore::organization(self, id).await
    }

    async fn organizations(&self, page: PageRequest) -> StoreResult<Page<Organization>> {
        SqliteStore::organizations(self, page).await
    }

    async fn extend_organization(&self, org: Uuid, parts: OrganizationParts) -> StoreResult<bool> {
        SqliteStore::extend_organization(self, org, parts).await
    }

    async fn teams(&self, org: Uuid) -> StoreResult<Vec<Team>> {
        SqliteStore::teams(self, org).await
    }

    async fn replace_api_key(&self, org: Uuid, new: Option<NewCredential>, at: Timestamp) -> StoreResult<bool> {
        SqliteStore::replace_api_key(self, org, new, at).await
    }

    async fn organization_snapshot(&self, org: Uuid) -> StoreResult<Option<String>> {
        SqliteStore::organization_snapshot(self, org).await
    }

    async fn reset_organization(&self, org: Uuid, reset: OrganizationReset) -> StoreResult<bool> {
        SqliteStore::reset_organization(self, org, reset).await
    }

    async fn advance_clock(&self, id: Uuid, change: ClockChange) -> StoreResult<Option<Organization>> {
        SqliteStore::advance_clock(self, id, change).await
    }

    async fn bank_accounts(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<BankAccount>> {
        SqliteStore::bank_accounts(self, org, page).await
    }

    async fn bank_account(&self, org: Uuid, id: Uuid) -> StoreResult<Option<BankAccount>> {
        SqliteStore::bank_account(self, org, id).await
    }

    async fn memberships(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<Membership>> {
        SqliteStore::memberships(self, org, page).await
    }

    async fn membership(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Membership>> {
        SqliteStore::membership(self, org, id).await
    }

    async fn membership_by_id(&self, id: Uuid) -> StoreResult<Option<Membership>> {
        SqliteStore::membership_by_id(self, id).await
    }

    async fn credential_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<Credential>> {
        SqliteStore::credential_by_hash(self, secret_hash).await
    }

    async fn api_key_by_slug(&self, slug: &str) -> StoreResult<Option<Credential>> {
        SqliteStore::api_key_by_slug(self, slug).await
    }

    async fn insert_credential(&self, credential: NewCredential) -> StoreResult<()> {
        SqliteStore::insert_credential(self, credential).await
    }

    async fn revoke_credential(&self, secret_hash: &[u8; 32], at: Timestamp) -> StoreResult<bool> {
        SqliteStore::revoke_credential(self, secret_hash, at).await
    }

    async fn list_cards(&self, query: &CardQuery) -> StoreResult<Page<StoredCard>> {
        SqliteStore::list_cards(self, query).await
    }

    async fn card(&self, org: Uuid, id: Uuid) -> StoreResult<Option<StoredCard>> {
        SqliteStore::card(self, org, id).await
    }

    async fn card_by_id(&self, id: Uuid) -> StoreResult<Option<StoredCard>> {
        SqliteStore::card_by_id(self, id).await
    }

    async fn update_card(&self, org: Uuid, id: Uuid, change: CardChange) -> StoreResult<StoredCard> {
        SqliteStore::update_card(self, org, id, change).await
    }

    async fn insert_cards(
        &self,
        cards: Vec<NewCard>,
        events: Vec<AuditEvent>,
        outbox: Vec<OutboxEvent>,
    ) -> StoreResult<Vec<StoredCard>> {
        SqliteStore::insert_cards(self, cards, events, outbox).await
    }

    async fn insert_sca_session(&self, session: ScaSession) -> StoreResult<()> {
        SqliteStore::insert_sca_session(self, session).await
    }

    async fn sca_session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ScaSession>> {
        SqliteStore::sca_session(self, token_hash).await
    }

    async fn decide_sca_session(&self, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>> {
        SqliteStore::decide_sca_session(self, token_hash, result).await
    }

    async fn consume_sca_session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<bool> {
        SqliteStore::consume_sca_session(self, token_hash, now).await
    }

    async fn begin_idempotent(&self, request: IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
        SqliteStore::begin_idempotent(self, request).await
    }

    async fn finish_idempotent(
        &self,
        scope_hash: [u8; 32],
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        SqliteStore::finish_idempotent(self, scope_hash, key, status, body).await
    }

    async fn abandon_idempotent(&self, scope_hash: [u8; 32], key: String) -> StoreResult<()> {
        SqliteStore::abandon_idempotent(self, scope_hash, key).await
    }

    async fn insert_data_view_token(&self, token: DataViewToken) -> StoreResult<()> {
        SqliteStore::insert_data_view_token(self, token).await
    }

    async fn open_data_view(
        &self,
        token_hash: &[u8; 32],
        real_now: Timestamp,
        audit: DataViewAudit,
    ) -> StoreResult<Option<(StoredCard, CardSecrets)>> {
        SqliteStore::open_data_view(self, token_hash, real_now, audit).await
    }

    async fn pay(&self, org: Uuid, card: Uuid, change: PaymentChange) -> StoreResult<(StoredCard, Transaction)> {
        SqliteStore::pay(self, org, card, change).await
    }

    async fn change_transaction(&self, id: Uuid, change: TransactionChange) -> StoreResult<(Transaction, StoredCard)> {
        SqliteStore::change_transaction(self, id, change).await
    }

    async fn transaction(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Transaction>> {
        SqliteStore::transaction(self, org, id).await
    }

    async fn transaction_organization(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        SqliteStore::transaction_organization(self, id).await
    }

    async fn list_transactions(&self, query: &TransactionQuery) -> StoreResult<Page<Transaction>> {
        SqliteStore::list_transactions(self, query).await
    }

    async fn card_events(&self, org: Uuid, card: Uuid) -> StoreResult<Vec<AuditEvent>> {
        SqliteStore::card_events(self, org, card).await
    }

    async fn cards_due_to_expire(&self, org: Uuid, now: Timestamp, limit: u32) -> StoreResult<Vec<Uuid>> {
        SqliteStore::cards_due_to_expire(self, org, now, limit).await
    }

    async fn insert_webhook_subscription(&self, subscription: WebhookSubscription) -> StoreResult<()> {
        SqliteStore::insert_webhook_subscription(self, subscription).await
    }

    async fn webhook_secrets(&self) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        SqliteStore::webhook_secrets(self).await
    }

    async fn reseal_webhook_secrets(&self, secrets: Vec<(Uuid, Vec<u8>)>) -> StoreResult<()> {
        SqliteStore::reseal_webhook_secrets(self, secrets).await
    }

    async fn webhook_subscriptions(
        &self,
        org: Uuid,
        membership: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<WebhookSubscription>> {
        SqliteStore::webhook_subscriptions(self, org, membership, page).await
    }

    async fn webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<Option<WebhookSubscription>> {
        SqliteStore::webhook_subscription(self, org, id).await
    }

    async fn update_webhook_subscription(&self, subscription: WebhookSubscription) -> StoreResult<bool> {
        SqliteStore::update_webhook_subscription(self, subscription).await
    }

    async fn delete_webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
        SqliteStore::delete_webhook_subscription(self, org, id).await
    }

    async fn claim_webhook_deliveries(
        &self,
        owner: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
        share: &FairShare,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        SqliteStore::claim_webhook_deliveries(self, owner, now, lease_until, share).await
    }

    async fn record_webhook_attempts(
        &self,
        owner: Uuid,
        attempts: Vec<(DeliveryAttempt, AttemptOutcome)>,
        rules: HealthRules,
    ) -> StoreResult<Vec<bool>> {
        SqliteStore::record_webhook_attempts(self, owner, attempts, rules).await
    }

    async fn webhook_deliveries(&self, query: &DeliveryQuery) -> StoreResult<Page<WebhookDelivery>> {
        SqliteStore::webhook_deliveries(self, query).await
    }

    async fn webhook_delivery(&self, id: Uuid) -> StoreResult<Option<(WebhookDelivery, Vec<DeliveryAttempt>)>> {
        SqliteStore::webhook_delivery(self, id).await
    }

    async fn retry_webhook_delivery(&self, id: Uuid, now: Timestamp) -> StoreResult<bool> {
        SqliteStore::retry_webhook_delivery(self, id, now).await
    }
}
