//! Cardinal on PostgreSQL — and on PostgreSQL-compatible distributed engines (CockroachDB,
//! YugabyteDB): several Cardinal processes share one database and behave as one server.
//!
//! - Every write use case is one transaction that takes row locks (`SELECT … FOR UPDATE`) on what
//!   it reads and decides on, so limits, locks and single-use tokens hold across processes.
//! - A transaction that loses a serialization race (SQLSTATE 40001, as distributed engines report
//!   routinely) or a deadlock (40P01), or whose connection drops before the commit is sent, is
//!   retried whole, on fresh data: the store's change closures are re-runnable for that reason.
//!   A connection lost *during* the commit is not retried: the outcome is unknown.
//! - Migrations are serialized by a row lock on `cardinal_schema`, so processes may start together.
//! - No advisory locks, LISTEN/NOTIFY, triggers or server-side state outside tables.

mod rows;

use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::sql::{
    card_list, organization_rows, transaction_list, Dialect, SqlValue, Statement, CARD_FROM, CARD_SELECT,
    TRANSACTION_COLUMNS,
};
use cardinal_store::*;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use jiff::Timestamp;
use rows::*;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;
use uuid::Uuid;

const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_initial.sql")];
const MAX_ATTEMPTS: u32 = 8;

pub struct PostgresStore {
    pool: Pool,
}

/// Why a transaction attempt failed: for the caller, or worth another attempt.
pub(crate) enum Fail {
    Store(StoreError),
    Retry(String),
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Fail {
        Fail::Store(e)
    }
}

impl From<DomainError> for Fail {
    fn from(e: DomainError) -> Fail {
        Fail::Store(StoreError::Domain(e))
    }
}

/// Classifies a driver error: races and lost connections are retried, uniqueness violations
/// are conflicts, everything else is a backend failure.
pub(crate) fn pg(e: tokio_postgres::Error) -> Fail {
    match e.code() {
        Some(code) if *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED => {
            Fail::Retry(e.to_string())
        }
        Some(code) if *code == SqlState::UNIQUE_VIOLATION => Fail::Store(StoreError::Conflict(
            e.as_db_error().map(|d| d.message().to_owned()).unwrap_or_else(|| "already exists".into()),
        )),
        // Only schema creation races produce these (another process created the same object a
        // moment ago): the retried `IF NOT EXISTS` then finds it.
        Some(code)
            if *code == SqlState::DUPLICATE_OBJECT
                || *code == SqlState::DUPLICATE_TABLE
                || *code == SqlState::DUPLICATE_SCHEMA =>
        {
            Fail::Retry(describe(&e))
        }
        // The server is going away, starting, or out of room: worth retrying, then 503.
        Some(code) if server_unavailable(code) => Fail::Retry(e.to_string()),
        // No SQLSTATE: the client side failed (connection refused, reset, closed).
        None => Fail::Retry(e.to_string()),
        _ if e.is_closed() => Fail::Retry(e.to_string()),
        _ => Fail::Store(StoreError::Backend(describe(&e))),
    }
}

/// A card's sealed secrets from three columns starting at `first`.
fn secrets_at(r: &tokio_postgres::Row, first: usize) -> CardSecrets {
    let fingerprint: Vec<u8> = r.get(first + 2);
    CardSecrets {
        pan_ciphertext: r.get(first),
        cvv_ciphertext: r.get(first + 1),
        pan_fingerprint: fingerprint.try_into().unwrap_or([0; 32]),
    }
}

/// The server's message and SQLSTATE (tokio-postgres's own text is only "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Connection exceptions (class 08), the server shutting down or starting (57P01–57P03),
/// and no room (class 53: disk full, out of memory, too many connections).
fn server_unavailable(code: &SqlState) -> bool {
    let code = code.code();
    code.starts_with("08") || code.starts_with("53") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// A failed COMMIT: a serialization failure or deadlock means nothing was committed, so the
/// attempt is retried; a connection lost during the COMMIT leaves the outcome unknown, so it is
/// not (a retry could apply the change twice).
pub(crate) fn commit_failure(e: tokio_postgres::Error) -> Fail {
    if e.code().is_none() && e.is_closed() {
        // Not retried here (a retry could apply the change twice); the client may retry with
        // its idempotency key.
        return Fail::Store(StoreError::Unavailable(format!("commit outcome unknown: {e}")));
    }
    pg(e)
}

/// The record in the one row `sql` finds, if any.
async fn optional<C: GenericClient + Sync, T>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    record: impl Fn(&tokio_postgres::Row) -> Result<T, Fail>,
) -> Result<Option<T>, Fail> {
    client.query_opt(sql, params).await.map_err(pg)?.as_ref().map(record).transpose()
}

/// What a failure that outlived its retries means: the database cannot be reached.
fn store_error(fail: Fail) -> StoreError {
    match fail {
        Fail::Store(e) => e,
        Fail::Retry(cause) => StoreError::Unavailable(cause),
    }
}

/// Runs `$body` (which may use `?` on `Fail` results) in a transaction on `$tx`, committing at
/// the end and retrying the whole attempt when it lost a race or its connection.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:block) => {{
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome: Result<_, Fail> = async {
                let mut client = $store.client().await?;
                let $tx = client.transaction().await.map_err(pg)?;
                let value = $body;
                $tx.commit().await.map_err(commit_failure)?;
                Ok(value)
            }
            .await;
            match outcome {
                Ok(value) => break Ok(value),
                Err(Fail::Retry(cause)) if attempt < MAX_ATTEMPTS => {
                    tracing::debug!(attempt, %cause, "retrying a transaction");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(fail) => break Err(store_error(fail)),
            }
        }
    }};
}

/// Reads need no transaction; they are retried only on a lost connection.
macro_rules! read {
    ($store:expr, |$client:ident| $body:block) => {{
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome: Result<_, Fail> = async {
                let pooled = $store.client().await?;
                let $client: &tokio_postgres::Client = &pooled;
                Ok($body)
            }
            .await;
            match outcome {
                Ok(value) => break Ok(value),
                Err(Fail::Retry(_)) if attempt < MAX_ATTEMPTS => tokio::time::sleep(backoff(attempt)).await,
                Err(fail) => break Err(store_error(fail)),
            }
        }
    }};
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((2u64 << attempt.min(7)) + u64::from(std::process::id() % 7))
}

impl PostgresStore {
    /// Connects to `postgres://…` and brings the schema up to date.
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        PostgresStore::open_with(url, None).await
    }

    /// The same, in a schema of its own (created if needed): how tests isolate themselves.
    pub async fn open_in_schema(url: &str, schema: &str) -> StoreResult<PostgresStore> {
        PostgresStore::open_with(url, Some(schema)).await
    }

    async fn open_with(url: &str, schema: Option<&str>) -> StoreResult<PostgresStore> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Backend(format!("{url}: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(3));
        }
        if let Some(schema) = schema {
            let valid =
                !schema.is_empty() && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(StoreError::Backend(format!("invalid schema name {schema:?}")));
            }
            let (client, connection) = config.connect(tokio_postgres::NoTls).await.map_err(|e| store_error(pg(e)))?;
            tokio::spawn(connection);
            // Racing creations of one schema (tests starting together) fail with a duplicate:
            // the schema then exists.
            match client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await.map_err(pg) {
                Ok(()) | Err(Fail::Store(StoreError::Conflict(_))) => {}
                Err(fail) => return Err(store_error(fail)),
            }
            config.options(format!("-c search_path={schema}"));
        }
        let manager = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        // Bounded waits: while PostgreSQL is down a request fails within seconds (503), it
        // never hangs on a connection that cannot be made.
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(3)))
            .recycle_timeout(Some(Duration::from_secs(3)))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let store = PostgresStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, Fail> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => pg(e),
            other => Fail::Retry(other.to_string()),
        })
    }

    /// Applies missing migrations, one transaction each, serialized by the schema row's lock.
    async fn migrate(&self) -> StoreResult<()> {
        self.create_schema_table().await?;
        for (index, sql) in MIGRATIONS.iter().enumerate() {
            let target = index as i32 + 1;
            let applied: StoreResult<()> = transaction!(self, |tx| {
                let row = tx
                    .query_one("SELECT version FROM cardinal_schema WHERE id = 1 FOR UPDATE", &[])
                    .await
                    .map_err(pg)?;
                let version: i32 = row.get(0);
                if version < target {
                    tx.batch_execute(sql).await.map_err(pg)?;
                    tx.execute("UPDATE cardinal_schema SET version = $1 WHERE id = 1", &[&target]).await.map_err(pg)?;
                }
            });
            applied?;
        }
        Ok(())
    }
}

impl PostgresStore {
    /// Creates the schema-version table and its row. `CREATE TABLE IF NOT EXISTS` is not safe
    /// against itself: of two processes starting together on an empty database, one fails with
    /// a duplicate type. That one tries again and finds the table. (No advisory lock: the
    /// PostgreSQL-compatible distributed engines do not all have them.)
    async fn create_schema_table(&self) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result: StoreResult<()> = transaction!(self, |tx| {
                tx.batch_execute(
                    "CREATE TABLE IF NOT EXISTS cardinal_schema (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
                     INSERT INTO cardinal_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;",
                )
                .await
                .map_err(pg)?;
            });
            match result {
                Err(StoreError::Conflict(_)) if attempt < 5 => tokio::time::sleep(backoff(attempt)).await,
                other => return other,
            }
        }
    }
}

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

fn sql_values(values: &[SqlValue]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    values
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                SqlValue::Text(t) => Box::new(t.clone()),
                SqlValue::Int(i) => Box::new(*i),
                SqlValue::NullText => Box::new(Option::<String>::None),
            }
        })
        .collect()
}

async fn run_list<T>(
    client: &tokio_postgres::Client,
    (count, page): (Statement, Statement),
    row: impl Fn(&tokio_postgres::Row) -> Result<T, Fail>,
) -> Result<Page<T>, Fail> {
    let count_values = sql_values(&count.values);
    let params: Params = count_values.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
    let total: i64 = client.query_one(&count.text, &params).await.map_err(pg)?.get(0);
    let page_values = sql_values(&page.values);
    let params: Params = page_values.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
    let rows = client.query(&page.text, &params).await.map_err(pg)?;
    let items = rows.iter().map(row).collect::<Result<Vec<_>, Fail>>()?;
    Ok(Page { items, total: total.max(0) as u64 })
}

async fn load_card<C: GenericClient + Sync>(
    client: &C,
    org: Option<Uuid>,
    id: Uuid,
    lock: bool,
) -> Result<Option<StoredCard>, Fail> {
    let lock = if lock { " FOR UPDATE OF c" } else { "" };
    let q = format!(
        "SELECT {CARD_SELECT} {CARD_FROM} WHERE c.id = $1 AND ($2::TEXT IS NULL OR c.organization_id = $2){lock}"
    );
    optional(client, &q, &[&id.to_string(), &org.map(|o| o.to_string())], stored_card).await
}

async fn load_account<C: GenericClient + Sync>(client: &C, id: Uuid) -> Result<BankAccount, Fail> {
    let q = format!("SELECT {} FROM bank_accounts b WHERE b.id = $1 FOR UPDATE", columns("b", BANK_ACCOUNT));
    let row = client.query_one(&q, &[&id.to_string()]).await.map_err(pg)?;
    bank_account(&row, "b")
}

async fn save_account<C: GenericClient + Sync>(client: &C, a: &BankAccount) -> Result<(), Fail> {
    client
        .execute(
            "UPDATE bank_accounts SET balance_cents = $1, authorized_balance_cents = $2, updated_at = $3 WHERE id = $4",
            &[&a.balance.0, &a.authorized_balance.0, &a.updated_at.as_second(), &a.id.to_string()],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

async fn insert_card<C: GenericClient + Sync>(client: &C, new: &NewCard, holder: &Holder) -> Result<(), Fail> {
    let stored = StoredCard { card: new.card.clone(), holder: holder.clone() };
    let c = &new.card;
    let index = CardIndex::of(&stored)?;
    client
        .execute(
            "INSERT INTO cards (id, organization_id, holder_id, bank_account_id, created_at, pan_ciphertext, \
             cvv_ciphertext, pan_fingerprint, card_level, base_status, terminal, expires_at, pre_expires_at, nickname, \
             last_activity_at, search_text, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17)",
            &[
                &c.id.to_string(),
                &c.organization_id.to_string(),
                &c.holder_id.to_string(),
                &c.bank_account_id.to_string(),
                &c.created_at.as_second(),
                &new.secrets.pan_ciphertext,
                &new.secrets.cvv_ciphertext,
                &new.secrets.pan_fingerprint.to_vec(),
                &index.level,
                &index.base_status,
                &index.terminal,
                &index.expires_at,
                &index.pre_expires_at,
                &index.nickname,
                &index.last_activity_at,
                &index.search_text,
                &index.data,
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

async fn save_card<C: GenericClient + Sync>(client: &C, stored: &StoredCard) -> Result<(), Fail> {
    let index = CardIndex::of(stored)?;
    client
        .execute(
            "UPDATE cards SET card_level = $1, base_status = $2, terminal = $3, expires_at = $4, pre_expires_at = $5, \
             nickname = $6, last_activity_at = $7, search_text = $8, data = $9 WHERE id = $10",
            &[
                &index.level,
                &index.base_status,
                &index.terminal,
                &index.expires_at,
                &index.pre_expires_at,
                &index.nickname,
                &index.last_activity_at,
                &index.search_text,
                &index.data,
                &stored.card.id.to_string(),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

/// Appends an event; callers hold the card's row lock, so `seq` is the card's next number.
async fn insert_event<C: GenericClient + Sync>(client: &C, e: &AuditEvent) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO card_events (id, card_id, seq, action, actor_type, actor_id, from_status, to_status, changes, \
             request_id, at) VALUES ($1, $2, (SELECT coalesce(max(seq), 0) + 1 FROM card_events WHERE card_id = $2), \
             $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &e.id.to_string(),
                &e.card_id.to_string(),
                &e.action,
                &e.actor.kind.as_str(),
                &e.actor.id.map(|i| i.to_string()),
                &e.from_status.map(|s| s.as_str()),
                &e.to_status.as_str(),
                &e.changes.to_string(),
                &e.request_id,
                &e.at.as_second(),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

async fn insert_credential<C: GenericClient + Sync>(client: &C, c: &NewCredential) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO credentials (id, organization_id, membership_id, kind, secret_hash, scopes, expires_at, \
             revoked_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)",
            &[
                &c.id.to_string(),
                &c.organization_id.to_string(),
                &c.membership_id.to_string(),
                &c.kind.as_str(),
                &c.secret_hash.to_vec(),
                &c.scopes.join(" "),
                &c.expires_at.map(|t| t.as_second()),
                &c.created_at.as_second(),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

async fn insert_seed<C: GenericClient + Sync>(client: &C, seed: &OrganizationSeed) -> Result<(), Fail> {
    let o = &seed.organization;
    client
        .execute(
            "INSERT INTO organizations (id, slug, legal_name, locale, timezone, country, sca_mode, clock_offset_seconds, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &o.id.to_string(),
                &o.slug,
                &o.legal_name,
                &o.locale,
                &o.timezone,
                &o.country,
                &o.sca_mode.as_str(),
                &o.clock_offset_seconds,
                &o.created_at.as_second(),
            ],
        )
        .await
        .map_err(pg)?;
    for t in &seed.teams {
        client
            .execute(
                "INSERT INTO teams (id, organization_id, name) VALUES ($1, $2, $3)",
                &[&t.id.to_string(), &t.organization_id.to_string(), &t.name],
            )
            .await
            .map_err(pg)?;
    }
    for b in &seed.bank_accounts {
        client
            .execute(
                "INSERT INTO bank_accounts (id, organization_id, name, status, main, iban, bic, currency, balance_cents, \
                 authorized_balance_cents, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    &b.id.to_string(),
                    &b.organization_id.to_string(),
                    &b.name,
                    &b.status,
                    &b.main,
                    &b.iban,
                    &b.bic,
                    &b.currency,
                    &b.balance.0,
                    &b.authorized_balance.0,
                    &b.created_at.as_second(),
                    &b.updated_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
    }
    for m in &seed.memberships {
        client
            .execute(
                "INSERT INTO memberships (id, organization_id, first_name, last_name, email, role, status, team_id, \
                 locale, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &m.id.to_string(),
                    &m.organization_id.to_string(),
                    &m.first_name,
                    &m.last_name,
                    &m.email,
                    &m.role.as_str(),
                    &m.status,
                    &m.team_id.map(|t| t.to_string()),
                    &m.locale,
                    &m.created_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
    }
    for c in &seed.credentials {
        insert_credential(client, c).await?;
    }
    for new in &seed.cards {
        let holder = seed
            .holder_of(new.card.holder_id)
            .ok_or_else(|| StoreError::Conflict("a seeded card's holder is not a seeded member".into()))?;
        insert_card(client, new, &holder).await?;
    }
    for e in &seed.events {
        insert_event(client, e).await?;
    }
    Ok(())
}

async fn holder_of<C: GenericClient + Sync>(client: &C, org: Uuid, holder: Uuid) -> Result<Option<Holder>, Fail> {
    optional(
        client,
        "SELECT first_name, last_name, team_id FROM memberships WHERE id = $1 AND organization_id = $2",
        &[&holder.to_string(), &org.to_string()],
        |r| {
            let team: Option<String> = r.get(2);
            Ok(Holder { first_name: r.get(0), last_name: r.get(1), team_id: team.as_deref().map(uuid).transpose()? })
        },
    )
    .await
}

async fn load_sca_session<C: GenericClient + Sync>(client: &C, hash: &[u8]) -> Result<Option<ScaSession>, Fail> {
    optional(
        client,
        "SELECT token_hash, organization_id, membership_id, action_type, request_hash, result, created_at, \
         expires_at, consumed_at FROM sca_sessions WHERE token_hash = $1",
        &[&hash],
        sca_session,
    )
    .await
}

async fn load_transaction<C: GenericClient + Sync>(
    client: &C,
    org: Option<Uuid>,
    id: Uuid,
    lock: bool,
) -> Result<Option<Transaction>, Fail> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let q = format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = $1 AND ($2::TEXT IS NULL OR t.organization_id = $2){lock}"
    );
    optional(client, &q, &[&id.to_string(), &org.map(|o| o.to_string())], transaction_row).await
}

async fn upsert_transaction<C: GenericClient + Sync>(client: &C, t: &Transaction) -> Result<(), Fail> {
    client
        .execute(
            "INSERT INTO transactions (id, organization_id, bank_account_id, card_id, holder_id, slug, amount_cents, \
             currency, side, operation_type, status, decline_reason, label, category, merchant_country, channel, \
             counted_day, counted_month, card_last_digits, emitted_at, settled_at, settled_balance_cents, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
             $20, $21, $22, $23, $24) ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
             settled_at = excluded.settled_at, settled_balance_cents = excluded.settled_balance_cents, \
             updated_at = excluded.updated_at",
            &[
                &t.id.to_string(),
                &t.organization_id.to_string(),
                &t.bank_account_id.to_string(),
                &t.card_id.to_string(),
                &t.holder_id.to_string(),
                &t.slug,
                &t.amount.0,
                &t.currency,
                &t.side,
                &t.operation_type,
                &t.status.as_str(),
                &t.decline_reason,
                &t.label,
                &t.category,
                &t.merchant_country,
                &t.channel,
                &t.counted_day.map(|d| d.to_string()),
                &t.counted_month.map(|d| d.to_string()),
                &t.card_last_digits,
                &t.emitted_at.as_second(),
                &t.settled_at.map(|s| s.as_second()),
                &t.settled_balance.map(|b| b.0),
                &t.created_at.as_second(),
                &t.updated_at.as_second(),
            ],
        )
        .await
        .map_err(pg)?;
    Ok(())
}

/// Claims an idempotency key so that of concurrent duplicates, in any process, one starts.
async fn begin_idempotent<C: GenericClient + Sync>(
    client: &C,
    r: &IdempotencyRequest,
) -> Result<IdempotencyBegin, Fail> {
    let now = r.now.as_second();
    let (scope, request) = (r.scope_hash.to_vec(), r.request_hash.to_vec());
    client
        .execute(
            "DELETE FROM idempotency_keys WHERE (scope_hash, key) IN (SELECT scope_hash, key FROM idempotency_keys \
             WHERE created_at <= $1 LIMIT 64)",
            &[&(now - r.keep_for_seconds)],
        )
        .await
        .map_err(pg)?;
    let claimed = client
        .query_opt(
            "INSERT INTO idempotency_keys (scope_hash, key, request_hash, state, status, response, created_at) \
             VALUES ($1, $2, $3, 'running', NULL, NULL, $4) ON CONFLICT (scope_hash, key) DO NOTHING RETURNING 1",
            &[&scope, &r.key, &request, &now],
        )
        .await
        .map_err(pg)?;
    if claimed.is_some() {
        return Ok(IdempotencyBegin::Started);
    }
    let row = client
        .query_opt(
            "SELECT request_hash, state, status, response, created_at FROM idempotency_keys \
             WHERE scope_hash = $1 AND key = $2 FOR UPDATE",
            &[&scope, &r.key],
        )
        .await
        .map_err(pg)?;
    let Some(row) = row else { return Err(Fail::Retry("idempotency key vanished".into())) };
    let status: Option<i32> = row.get(2);
    let stored = StoredIdempotencyKey {
        request_hash: row.get(0),
        state: row.get(1),
        status: status.and_then(|s| u16::try_from(s).ok()),
        response: row.get(3),
        created_at: row.get(4),
    };
    match decide_idempotent(&stored, r) {
        IdempotencyDecision::Answer(answer) => Ok(answer),
        IdempotencyDecision::TakeOver => {
            client
                .execute(
                    "UPDATE idempotency_keys SET request_hash = $3, state = 'running', status = NULL, response = NULL, \
                     created_at = $4 WHERE scope_hash = $1 AND key = $2",
                    &[&scope, &r.key, &request, &now],
                )
                .await
                .map_err(pg)?;
            Ok(IdempotencyBegin::Started)
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        read!(self, |c| {
            c.query_one("SELECT NOT EXISTS (SELECT 1 FROM organizations)", &[]).await.map_err(pg)?.get(0)
        })
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        read!(self, |c| {
            c.query_opt("SELECT value FROM settings WHERE key = $1", &[&key]).await.map_err(pg)?.map(|r| r.get(0))
        })
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &value],
            )
            .await
            .map_err(pg)?;
            tx.query_one("SELECT value FROM settings WHERE key = $1", &[&key]).await.map_err(pg)?.get::<_, String>(0)
        })
    }

    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        transaction!(self, |tx| {
            match value {
                Some(value) => {
                    tx.execute(
                        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
                        &[&key, &value],
                    )
                    .await
                }
                None => tx.execute("DELETE FROM settings WHERE key = $1", &[&key]).await,
            }
            .map_err(pg)?;
        })
    }

    async fn sealed_cards(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<(Uuid, CardSecrets)>> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        let limit = i64::from(limit);
        read!(self, |c| {
            let rows = c
                .query(
                    "SELECT id, pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                    &[&after, &limit],
                )
                .await
                .map_err(pg)?;
            rows.iter()
                .map(|r| {
                    let id: String = r.get(0);
                    let id = Uuid::parse_str(&id).map_err(|e| StoreError::Backend(e.to_string()))?;
                    Ok((id, secrets_at(r, 1)))
                })
                .collect::<StoreResult<Vec<_>>>()?
        })
    }

    async fn reseal_cards(&self, cards: Vec<(Uuid, CardSecrets)>) -> StoreResult<()> {
        transaction!(self, |tx| {
            let statement = tx
                .prepare(
                    "UPDATE cards SET pan_ciphertext = $1, cvv_ciphertext = $2, pan_fingerprint = $3 WHERE id = $4",
                )
                .await
                .map_err(pg)?;
            for (id, s) in &cards {
                tx.execute(
                    &statement,
                    &[&s.pan_ciphertext, &s.cvv_ciphertext, &s.pan_fingerprint.to_vec(), &id.to_string()],
                )
                .await
                .map_err(pg)?;
            }
        })
    }

    async fn create_organization(&self, seed: OrganizationSeed) -> StoreResult<()> {
        transaction!(self, |tx| { insert_seed(&*tx, &seed).await? })
    }

    async fn delete_organization(&self, id: Uuid) -> StoreResult<bool> {
        transaction!(self, |tx| {
            tx.execute("DELETE FROM organizations WHERE id = $1", &[&id.to_string()]).await.map_err(pg)? > 0
        })
    }

    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        read!(self, |c| {
            let q = format!("SELECT {} FROM organizations o WHERE o.id = $1", columns("o", ORGANIZATION));
            optional(c, &q, &[&id.to_string()], |r| organization(r, "o")).await?
        })
    }

    async fn advance_clock(&self, id: Uuid, change: ClockChange) -> StoreResult<Option<Organization>> {
        transaction!(self, |tx| {
            tx.execute(change.statement(Dialect::Postgres), &[&id.to_string(), &change.seconds()]).await.map_err(pg)?;
            let q = format!("SELECT {} FROM organizations o WHERE o.id = $1", columns("o", ORGANIZATION));
            optional(&*tx, &q, &[&id.to_string()], |r| organization(r, "o")).await?
        })
    }

    async fn bank_accounts(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<BankAccount>> {
        let statements = organization_rows("bank_accounts", "b", BANK_ACCOUNT, org, page, Dialect::Postgres);
        read!(self, |c| { run_list(c, statements.clone(), |r| bank_account(r, "b")).await? })
    }

    async fn bank_account(&self, org: Uuid, id: Uuid) -> StoreResult<Option<BankAccount>> {
        read!(self, |c| {
            let q = format!(
                "SELECT {} FROM bank_accounts b WHERE b.id = $1 AND b.organization_id = $2",
                columns("b", BANK_ACCOUNT)
            );
            optional(c, &q, &[&id.to_string(), &org.to_string()], |r| bank_account(r, "b")).await?
        })
    }

    async fn memberships(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<Membership>> {
        let statements = organization_rows("memberships", "m", MEMBERSHIP, org, page, Dialect::Postgres);
        read!(self, |c| { run_list(c, statements.clone(), |r| membership(r, "m")).await? })
    }

    async fn membership(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Membership>> {
        Ok(self.membership_by_id(id).await?.filter(|m| m.organization_id == org))
    }

    async fn membership_by_id(&self, id: Uuid) -> StoreResult<Option<Membership>> {
        read!(self, |c| {
            let q = format!("SELECT {} FROM memberships m WHERE m.id = $1", columns("m", MEMBERSHIP));
            optional(c, &q, &[&id.to_string()], |r| membership(r, "m")).await?
        })
    }

    async fn credential_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<Credential>> {
        let hash = secret_hash.to_vec();
        read!(self, |c| {
            let q = format!("{} WHERE c.secret_hash = $1", credential_select());
            optional(c, &q, &[&hash], credential).await?
        })
    }

    async fn api_key_by_slug(&self, slug: &str) -> StoreResult<Option<Credential>> {
        read!(self, |c| {
            let q =
                format!("{} WHERE o.slug = $1 AND c.kind = 'api_key' AND c.revoked_at IS NULL", credential_select());
            optional(c, &q, &[&slug], credential).await?
        })
    }

    async fn insert_credential(&self, credential: NewCredential) -> StoreResult<()> {
        transaction!(self, |tx| { insert_credential(&*tx, &credential).await? })
    }

    async fn revoke_credential(&self, secret_hash: &[u8; 32], at: Timestamp) -> StoreResult<bool> {
        let hash = secret_hash.to_vec();
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE credentials SET revoked_at = $1 WHERE secret_hash = $2 AND kind = 'access_token' AND revoked_at IS NULL",
                &[&at.as_second(), &hash],
            )
            .await
            .map_err(pg)?
                > 0
        })
    }

    async fn list_cards(&self, query: &CardQuery) -> StoreResult<Page<StoredCard>> {
        read!(self, |c| { run_list(c, card_list(query, Dialect::Postgres), stored_card).await? })
    }

    async fn card(&self, org: Uuid, id: Uuid) -> StoreResult<Option<StoredCard>> {
        read!(self, |c| { load_card(c, Some(org), id, false).await? })
    }

    async fn card_by_id(&self, id: Uuid) -> StoreResult<Option<StoredCard>> {
        read!(self, |c| { load_card(c, None, id, false).await? })
    }

    async fn update_card(&self, org: Uuid, id: Uuid, mut change: CardChange) -> StoreResult<StoredCard> {
        transaction!(self, |tx| {
            let mut stored = load_card(&*tx, Some(org), id, true).await?.ok_or(DomainError::NotFound)?;
            if let Some(event) = change(&mut stored)? {
                save_card(&*tx, &stored).await?;
                insert_event(&*tx, &event).await?;
            }
            stored
        })
    }

    async fn insert_cards(&self, cards: Vec<NewCard>, events: Vec<AuditEvent>) -> StoreResult<Vec<StoredCard>> {
        transaction!(self, |tx| {
            let mut stored = Vec::with_capacity(cards.len());
            for new in &cards {
                let holder = holder_of(&*tx, new.card.organization_id, new.card.holder_id)
                    .await?
                    .ok_or_else(|| StoreError::Conflict("the holder is not a member of the organization".into()))?;
                insert_card(&*tx, new, &holder).await?;
                stored.push(StoredCard { card: new.card.clone(), holder });
            }
            for event in &events {
                insert_event(&*tx, event).await?;
            }
            stored
        })
    }

    async fn insert_sca_session(&self, s: ScaSession) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO sca_sessions (token_hash, organization_id, membership_id, action_type, request_hash, result, \
                 created_at, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
                &[
                    &s.token_hash.to_vec(),
                    &s.organization_id.to_string(),
                    &s.membership_id.to_string(),
                    &s.action_type,
                    &s.request_hash.to_vec(),
                    &s.result.as_str(),
                    &s.created_at.as_second(),
                    &s.expires_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn sca_session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ScaSession>> {
        read!(self, |c| { load_sca_session(c, token_hash).await? })
    }

    async fn decide_sca_session(&self, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>> {
        let hash = token_hash.to_vec();
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE sca_sessions SET result = $1 WHERE token_hash = $2 AND result = 'waiting'",
                &[&result.as_str(), &hash],
            )
            .await
            .map_err(pg)?;
            load_sca_session(&*tx, &hash).await?
        })
    }

    async fn consume_sca_session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<bool> {
        let hash = token_hash.to_vec();
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE sca_sessions SET consumed_at = $1 WHERE token_hash = $2 AND result = 'allow' \
                 AND consumed_at IS NULL AND expires_at > $1",
                &[&now.as_second(), &hash],
            )
            .await
            .map_err(pg)?
                == 1
        })
    }

    async fn begin_idempotent(&self, request: IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
        transaction!(self, |tx| { begin_idempotent(&*tx, &request).await? })
    }

    async fn finish_idempotent(
        &self,
        scope_hash: [u8; 32],
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE idempotency_keys SET state = 'done', status = $1, response = $2 WHERE scope_hash = $3 AND key = $4",
                &[&i32::from(status), &body, &scope_hash.to_vec(), &key],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn abandon_idempotent(&self, scope_hash: [u8; 32], key: String) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "DELETE FROM idempotency_keys WHERE scope_hash = $1 AND key = $2 AND state = 'running'",
                &[&scope_hash.to_vec(), &key],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn insert_data_view_token(&self, t: DataViewToken) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO data_view_tokens (token_hash, card_id, organization_id, membership_id, expires_at, used_at) \
                 VALUES ($1, $2, $3, $4, $5, NULL)",
                &[
                    &t.token_hash.to_vec(),
                    &t.card_id.to_string(),
                    &t.organization_id.to_string(),
                    &t.membership_id.to_string(),
                    &t.expires_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn open_data_view(
        &self,
        token_hash: &[u8; 32],
        real_now: Timestamp,
        mut audit: DataViewAudit,
    ) -> StoreResult<Option<(StoredCard, CardSecrets)>> {
        let hash = token_hash.to_vec();
        transaction!(self, |tx| {
            // Lifetimes run on the token's organization's clock.
            let grant = tx
                .query_opt(
                    "UPDATE data_view_tokens d SET used_at = $1 + o.clock_offset_seconds FROM organizations o \
                     WHERE o.id = d.organization_id AND d.token_hash = $2 AND d.used_at IS NULL \
                     AND d.expires_at > $1 + o.clock_offset_seconds \
                     RETURNING d.card_id, d.organization_id, d.membership_id, d.used_at",
                    &[&real_now.as_second(), &hash],
                )
                .await
                .map_err(pg)?;
            match grant {
                None => None,
                Some(row) => {
                    let (card_id, org_id, member): (String, String, String) = (row.get(0), row.get(1), row.get(2));
                    let now = timestamp(row.get(3))?;
                    let (card_id, org_id, member) = (uuid(&card_id)?, uuid(&org_id)?, uuid(&member)?);
                    match load_card(&*tx, Some(org_id), card_id, true).await? {
                        None => None,
                        Some(stored) => {
                            let secret_row = tx
                                .query_one(
                                    "SELECT pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards WHERE id = $1",
                                    &[&card_id.to_string()],
                                )
                                .await
                                .map_err(pg)?;
                            let secrets = secrets_at(&secret_row, 0);
                            insert_event(&*tx, &audit(&stored, member, now)).await?;
                            Some((stored, secrets))
                        }
                    }
                }
            }
        })
    }

    async fn pay(&self, org: Uuid, card: Uuid, mut change: PaymentChange) -> StoreResult<(StoredCard, Transaction)> {
        transaction!(self, |tx| {
            // Card, then account: every use case locks in this order, so none deadlocks another.
            let mut stored = load_card(&*tx, Some(org), card, true).await?.ok_or(DomainError::NotFound)?;
            let mut account = load_account(&*tx, stored.card.bank_account_id).await?;
            let transaction = change(&mut stored, &mut account)?;
            save_card(&*tx, &stored).await?;
            save_account(&*tx, &account).await?;
            upsert_transaction(&*tx, &transaction).await?;
            (stored, transaction)
        })
    }

    async fn change_transaction(
        &self,
        id: Uuid,
        mut change: TransactionChange,
    ) -> StoreResult<(Transaction, StoredCard)> {
        transaction!(self, |tx| {
            let peek = load_transaction(&*tx, None, id, false).await?.ok_or(DomainError::NotFound)?;
            // Card first, as everywhere, then the transaction and the account.
            let mut stored =
                load_card(&*tx, Some(peek.organization_id), peek.card_id, true).await?.ok_or(DomainError::NotFound)?;
            let mut transaction = load_transaction(&*tx, None, id, true).await?.ok_or(DomainError::NotFound)?;
            let mut account = load_account(&*tx, transaction.bank_account_id).await?;
            change(&mut transaction, &mut stored, &mut account)?;
            save_card(&*tx, &stored).await?;
            save_account(&*tx, &account).await?;
            upsert_transaction(&*tx, &transaction).await?;
            (transaction, stored)
        })
    }

    async fn transaction(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Transaction>> {
        read!(self, |c| { load_transaction(c, Some(org), id, false).await? })
    }

    async fn transaction_organization(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        read!(self, |c| {
            let row = c
                .query_opt("SELECT organization_id FROM transactions WHERE id = $1", &[&id.to_string()])
                .await
                .map_err(pg)?;
            row.map(|r| uuid(&r.get::<_, String>(0))).transpose()?
        })
    }

    async fn list_transactions(&self, query: &TransactionQuery) -> StoreResult<Page<Transaction>> {
        read!(self, |c| { run_list(c, transaction_list(query, Dialect::Postgres), transaction_row).await? })
    }

    async fn card_events(&self, org: Uuid, card: Uuid) -> StoreResult<Vec<AuditEvent>> {
        read!(self, |c| {
            let rows = c
                .query(
                    "SELECT e.id, e.card_id, e.action, e.actor_type, e.actor_id, e.from_status, e.to_status, e.changes, \
                     e.request_id, e.at FROM card_events e JOIN cards c ON c.id = e.card_id \
                     WHERE e.card_id = $1 AND c.organization_id = $2 ORDER BY e.seq",
                    &[&card.to_string(), &org.to_string()],
                )
                .await
                .map_err(pg)?;
            rows.iter().map(audit_event).collect::<Result<Vec<_>, Fail>>()?
        })
    }
}

fn credential_select() -> String {
    format!(
        "SELECT {}, {}, {} FROM credentials c JOIN organizations o ON o.id = c.organization_id \
         JOIN memberships m ON m.id = c.membership_id",
        columns("c", CREDENTIAL),
        columns("o", ORGANIZATION),
        columns("m", MEMBERSHIP)
    )
}
