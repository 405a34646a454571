//! The `Store` trait, implemented by delegating to each concern's module.

use crate::*;

#[async_trait]
impl Store for PostgresStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        PostgresStore::is_empty(self).await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        PostgresStore::setting(self, key).await
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        PostgresStore::init_setting(self, key, value).await
    }

    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        PostgresStore::set_setting(self, key, value).await
    }

    async fn sealed_cards(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<(Uuid, CardSecrets)>> {
        PostgresStore::sealed_cards(self, after, limit).await
    }

    async fn reseal_cards(&self, cards: Vec<(Uuid, CardSecrets)>) -> StoreResult<()> {
        PostgresStore::reseal_cards(self, cards).await
    }

    async fn create_organization(&self, seed: OrganizationSeed) -> StoreResult<()> {
        PostgresStore::create_organization(self, seed).await
    }

    async fn delete_organization(&self, id: Uuid) -> StoreResult<bool> {
        PostgresStore::delete_organization(self, id).await
    }

    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        PostgresStore::organization(self, id).await
    }

    async fn organizations(&self, page: PageRequest) -> StoreResult<Page<Organization>> {
        PostgresStore::organizations(self, page).await
    }

    async fn extend_organization(&self, org: Uuid, parts: OrganizationParts) -> StoreResult<bool> {
        PostgresStore::extend_organization(self, org, parts).await
    }

    async fn teams(&self, org: Uuid) -> StoreResult<Vec<Team>> {
        PostgresStore::teams(self, org).await
    }

    async fn replace_api_key(&self, org: Uuid, new: Option<NewCredential>, at: Timestamp) -> StoreResult<bool> {
        PostgresStore::replace_api_key(self, org, new, at).await
    }

    async fn organization_snapshot(&self, org: Uuid) -> StoreResult<Option<String>> {
        PostgresStore::organization_snapshot(self, org).await
    }

    async fn reset_organization(&self, org: Uuid, reset: OrganizationReset) -> StoreResult<bool> {
        PostgresStore::reset_organization(self, org, reset).await
    }

    async fn advance_clock(&self, id: Uuid, change: ClockChange) -> StoreResult<Option<Organization>> {
        PostgresStore::advance_clock(self, id, change).await
    }

    async fn bank_accounts(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<BankAccount>> {
        PostgresStore::bank_accounts(self, org, page).await
    }

    async fn bank_account(&self, org: Uuid, id: Uuid) -> StoreResult<Option<BankAccount>> {
        PostgresStore::bank_account(self, org, id).await
    }

    async fn memberships(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<Membership>> {
        PostgresStore::memberships(self, org, page).await
    }

    async fn membership(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Membership>> {
        PostgresStore::membership(self, org, id).await
    }

    async fn membership_by_id(&self, id: Uuid) -> StoreResult<Option<Membership>> {
        PostgresStore::membership_by_id(self, id).await
    }

    async fn credential_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<Credential>> {
        PostgresStore::credential_by_hash(self, secret_hash).await
    }

    async fn api_key_by_slug(&self, slug: &str) -> StoreResult<Option<Credential>> {
        PostgresStore::api_key_by_slug(self, slug).await
    }

    async fn insert_credential(&self, credential: NewCredential) -> StoreResult<()> {
        PostgresStore::insert_credential(self, credential).await
    }

    async fn revoke_credential(&self, secret_hash: &[u8; 32], at: Timestamp) -> StoreResult<bool> {
        PostgresStore::revoke_credential(self, secret_hash, at).await
    }

    async fn list_cards(&self, query: &CardQuery) -> StoreResult<Page<StoredCard>> {
        PostgresStore::list_cards(self, query).await
    }

    async fn card(&self, org: Uuid, id: Uuid) -> StoreResult<Option<StoredCard>> {
        PostgresStore::card(self, org, id).await
    }

    async fn card_by_id(&self, id: Uuid) -> StoreResult<Option<StoredCard>> {
        PostgresStore::card_by_id(self, id).await
    }

    async fn update_card(&self, org: Uuid, id: Uuid, change: CardChange) -> StoreResult<StoredCard> {
        PostgresStore::update_card(self, org, id, change).await
    }

    async fn insert_cards(
        &self,
        cards: Vec<NewCard>,
        events: Vec<AuditEvent>,
        outbox: Vec<OutboxEvent>,
    ) -> StoreResult<Vec<StoredCard>> {
        PostgresStore::insert_cards(self, cards, events, outbox).await
    }

    async fn insert_sca_session(&self, s: ScaSession) -> StoreResult<()> {
        PostgresStore::insert_sca_session(self, s).await
    }

    async fn sca_session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ScaSession>> {
        PostgresStore::sca_session(self, token_hash).await
    }

    async fn decide_sca_session(&self, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>> {
        PostgresStore::decide_sca_session(self, token_hash, result).await
    }

    async fn consume_sca_session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<bool> {
        PostgresStore::consume_sca_session(self, token_hash, now).await
    }

    async fn begin_idempotent(&self, request: IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
        PostgresStore::begin_idempotent(self, request).await
    }

    async fn finish_idempotent(
        &self,
        scope_hash: [u8; 32],
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        PostgresStore::finish_idempotent(self, scope_hash, key, status, body).await
    }

    async fn abandon_idempotent(&self, scope_hash: [u8; 32], key: String) -> StoreResult<()> {
        PostgresStore::abandon_idempotent(self, scope_hash, key).await
    }

    async fn insert_data_view_token(&self, t: DataViewToken) -> StoreResult<()> {
        PostgresStore::insert_data_view_token(self, t).await
    }

    async fn open_data_view(
        &self,
        token_hash: &[u8; 32],
        real_now: Timestamp,
        audit: DataViewAudit,
    ) -> StoreResult<Option<(StoredCard, CardSecrets)>> {
        PostgresStore::open_data_view(self, token_hash, real_now, audit).await
    }

    async fn pay(&self, org: Uuid, card: Uuid, change: PaymentChange) -> StoreResult<(StoredCard, Transaction)> {
        PostgresStore::pay(self, org, card, change).await
    }

    async fn change_transaction(&self, id: Uuid, change: TransactionChange) -> StoreResult<(Transaction, StoredCard)> {
        PostgresStore::change_transaction(self, id, change).await
    }

    async fn transaction(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Transaction>> {
        PostgresStore::transaction(self, org, id).await
    }

    async fn transaction_organization(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        PostgresStore::transaction_organization(self, id).await
    }

    async fn list_transactions(&self, query: &TransactionQuery) -> StoreResult<Page<Transaction>> {
        PostgresStore::list_transactions(self, query).await
    }

    async fn card_events(&self, org: Uuid, card: Uuid) -> StoreResult<Vec<AuditEvent>> {
        PostgresStore::card_events(self, org, card).await
    }

    async fn cards_due_to_expire(&self, org: Uuid, now: Timestamp, limit: u32) -> StoreResult<Vec<Uuid>> {
        PostgresStore::cards_due_to_expire(self, org, now, limit).await
    }

    async fn insert_webhook_subscription(&self, subscription: WebhookSubscription) -> StoreResult<()> {
        PostgresStore::insert_webhook_subscription(self, subscription).await
    }

    async fn webhook_secrets(&self) -> StoreResult<Vec<(Uuid, Vec<u8>)>> {
        PostgresStore::webhook_secrets(self).await
    }

    async fn reseal_webhook_secrets(&self, secrets: Vec<(Uuid, Vec<u8>)>) -> StoreResult<()> {
        PostgresStore::reseal_webhook_secrets(self, secrets).await
    }

    async fn webhook_subscriptions(
        &self,
        org: Uuid,
        membership: Option<Uuid>,
        page: PageRequest,
    ) -> StoreResult<Page<WebhookSubscription>> {
        PostgresStore::webhook_subscriptions(self, org, membership, page).await
    }

    async fn webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<Option<WebhookSubscription>> {
        PostgresStore::webhook_subscription(self, org, id).await
    }

    async fn update_webhook_subscription(&self, subscription: WebhookSubscription) -> StoreResult<bool> {
        PostgresStore::update_webhook_subscription(self, subscription).await
    }

    async fn delete_webhook_subscription(&self, org: Uuid, id: Uuid) -> StoreResult<bool> {
        PostgresStore::delete_webhook_subscription(self, org, id).await
    }

    async fn claim_webhook_deliveries(
        &self,
        owner: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
        share: &FairShare,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        PostgresStore::claim_webhook_deliveries(self, owner, now, lease_until, share).await
    }

    async fn record_webhook_attempts(
        &self,
        owner: Uuid,
        attempts: Vec<(DeliveryAttempt, AttemptOutcome)>,
        rules: HealthRules,
    ) -> StoreResult<Vec<bool>> {
        PostgresStore::record_webhook_attempts(self, owner, attempts, rules).await
    }

    async fn webhook_deliveries(&self, query: &DeliveryQuery) -> StoreResult<Page<WebhookDelivery>> {
        PostgresStore::webhook_deliveries(self, query).await
    }

    async fn webhook_delivery(&self, id: Uuid) -> StoreResult<Option<(WebhookDelivery, Vec<DeliveryAttempt>)>> {
        PostgresStore::webhook_delivery(self, id).await
    }

    async fn retry_webhook_delivery(&self, id: Uuid, now: Timestamp) -> StoreResult<bool> {
        PostgresStore::retry_webhook_delivery(self, id, now).await
    }
}
