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

use std::time::Duration;

use cardinal_store::sql::{columns, SqlValue, Statement, CREDENTIAL, MEMBERSHIP, ORGANIZATION};
use cardinal_store::{Page, StoreError, StoreResult};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};

use db::Db;
use timeouts::{spawn_heartbeat, with_timeouts, BUSY_FACTOR};
use tokio_postgres::types::ToSql;

pub(crate) use errors::{pg, store_error, Fail};

const MAX_ATTEMPTS: u32 = 8;

pub struct PostgresStore {
    pool: Pool,
    /// How long one store call waits for a silent server, retries included, before it answers
    /// `Unavailable` (a busy server that answers others is waited for longer).
    timeout: Duration,
    /// When the server last answered (a call or the heartbeat).
    liveness: std::sync::Arc<timeouts::Liveness>,
    /// Reached through PgBouncer's transaction pooling (`pgbouncer=transaction`): reads run
    /// in transactions too.
    pooled_transactions: bool,
    /// The read replica (`--read-database`) that serves the reads a request lets be stale.
    replica: Option<Box<PostgresStore>>,
    /// Until when (ms on the liveness clock) the replica is not asked, after it failed.
    replica_benched_until: std::sync::atomic::AtomicI64,
}

/// A request's patience with the database: a hung server answers 503 after this
/// (`--database-timeout`). Commands that move many rows at once (seeding, key rotation,
/// migrations) give themselves more with [`PostgresStore::open_with_timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The record in the one row `sql` finds, if any.
async fn optional<T>(
    client: &Db<'_>,
    sql: &'static str,
    params: &[&(dyn ToSql + Sync)],
    record: impl Fn(&tokio_postgres::Row) -> Result<T, Fail>,
) -> Result<Option<T>, Fail> {
    client.query_opt(sql, params).await.map_err(pg)?.as_ref().map(record).transpose()
}

/// A statement's text assembled from constants (column lists, shared fragments) the first time
/// it is needed and kept for the process, so the connection can keep it prepared
/// ([`db::Db`]). Its arguments must be constants: the first call's text is used for all.
macro_rules! fixed_sql {
    ($($format:tt)*) => {{
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        TEXT.get_or_init(|| format!($($format)*)).as_str()
    }};
}

/// Runs `$body` (which may use `?` on `Fail` results) in a transaction on `$tx`, committing at
/// the end and retrying the whole attempt when it lost a race or its connection. Every try
/// shares one patience ([`timeouts::Patience`]): a database that hangs (paused, partitioned)
/// answers `Unavailable` after about the timeout, and the connection it hung on is closed.
macro_rules! transaction {
    ($store:expr, |$tx:ident| $body:block) => {{
        let patience = $store.patience();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome: Result<_, $crate::errors::Fail> = async {
                let mut client = $store.client(&patience).await?;
                let work = async {
                    let open = client.transaction().await.map_err($crate::errors::pg)?;
                    let db = $store.db(open.client(), &open.statement_cache);
                    let $tx = &db;
                    let value = $body;
                    let committing = std::time::Instant::now();
                    open.commit().await.map_err($crate::errors::commit_failure)?;
                    cardinal_store::telemetry::COMMITS.record(1, committing.elapsed());
                    Ok(value)
                };
                let timed = patience.wait(&$store.liveness, work).await;
                match timed {
                    Some(Err($crate::errors::Fail::ReadOnly(cause))) => Err($store.discard_read_only(client, cause)),
                    Some(done) => done,
                    None => Err($store.abandon(client)),
                }
            }
            .await;
            match outcome {
                Ok(value) => break Ok(value),
                Err($crate::errors::Fail::Retry(cause)) if attempt < $crate::MAX_ATTEMPTS && patience.may_retry() => {
                    tracing::debug!(attempt, %cause, "retrying a transaction");
                    tokio::time::sleep($crate::backoff(attempt)).await;
                }
                Err(fail) => break Err($crate::errors::store_error(fail)),
            }
        }
    }};
}

/// Reads need no transaction; they are retried only on a lost connection, with the same
/// patience as transactions.
macro_rules! read {
    ($store:expr, |$client:ident| $body:block) => {{
        let patience = $store.patience();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome: Result<_, $crate::errors::Fail> = async {
                let mut pooled = $store.client(&patience).await?;
                let work = async {
                    // Behind PgBouncer's transaction pooling a read is a transaction too;
                    // an unfinished one rolls back when dropped.
                    let mut open = None;
                    let db = if $store.pooled_transactions {
                        open = Some(pooled.transaction().await.map_err($crate::errors::pg)?);
                        $crate::db::Db::new(open.as_ref().map(|tx| tx.client()).expect("just opened"), None)
                    } else {
                        $store.db(&pooled, &pooled.statement_cache)
                    };
                    let $client = &db;
                    let value = $body;
                    if let Some(tx) = open {
                        tx.commit().await.map_err($crate::errors::pg)?;
                    }
                    Ok(value)
                };
                let timed = patience.wait(&$store.liveness, work).await;
                match timed {
                    Some(Err($crate::errors::Fail::ReadOnly(cause))) => Err($store.discard_read_only(pooled, cause)),
                    Some(done) => done,
                    None => Err($store.abandon(pooled)),
                }
            }
            .await;
            match outcome {
                Ok(value) => break Ok(value),
                Err($crate::errors::Fail::Retry(_)) if attempt < $crate::MAX_ATTEMPTS && patience.may_retry() => {
                    tokio::time::sleep($crate::backoff(attempt)).await
                }
                Err(fail) => break Err($crate::errors::store_error(fail)),
            }
        }
    }};
}

/// A read a request may let be a moment stale (`cardinal_store::staleness`): served by the
/// read replica when there is one and the request allows it, by the primary otherwise — and
/// by the primary too when the replica fails.
macro_rules! stale_read {
    ($store:expr, |$client:ident| $body:block) => {{
        let from_replica = match $store.replica_for_stale_read() {
            Some(replica) => Some(read!(replica, |$client| $body)),
            None => None,
        };
        match from_replica {
            // A replica that fails (down, not there, misconfigured) leaves the read to the
            // primary, and is left alone for a while.
            Some(Err(e)) => {
                $store.bench_replica(&e);
                read!($store, |$client| $body)
            }
            None => read!($store, |$client| $body),
            Some(done) => done,
        }
    }};
}

// The stores of each area; declared after the macros above, which they use.
mod cards;
mod credentials;
mod db;
mod errors;
mod idempotency;
mod migrations;
mod oauth;
mod operator;
mod organizations;
mod pool;
mod receipts;
mod requests;
mod sca;
mod settings;
mod timeouts;
mod tls;
mod transactions;
mod webhook_health;
mod webhooks;

impl PostgresStore {
    /// A store call's view of `client`, keeping its prepared statements in `cache` unless
    /// the connection goes through PgBouncer's transaction pooling.
    fn db<'a>(&self, client: &'a tokio_postgres::Client, cache: &'a deadpool_postgres::StatementCache) -> Db<'a> {
        Db::new(client, (!self.pooled_transactions).then_some(cache))
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((2u64 << attempt.min(7)) + u64::from(std::process::id() % 7))
}

impl PostgresStore {
    /// Connects to `postgres://…` and brings the schema up to date.
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        PostgresStore::open_with(url, None, DEFAULT_TIMEOUT).await
    }

    /// Adds a read replica at `url` (a standby of this database; its schema is the primary's,
    /// never migrated from here): list and show reads that a request lets be stale go to it.
    /// Unless the URL sets `target_session_attrs`, any server is taken (a standby is read-only).
    pub async fn with_read_replica(mut self, url: &str) -> StoreResult<PostgresStore> {
        let (url, pooled_transactions) = tls::take_pooler_parameter(url).map_err(StoreError::Backend)?;
        let (config, tls) =
            tls::connection(&url, tokio_postgres::config::TargetSessionAttrs::Any).map_err(StoreError::Backend)?;
        let (pool, liveness) = PostgresStore::pool(config, tls, self.timeout, pooled_transactions)?;
        let replica = PostgresStore {
            pool,
            timeout: self.timeout,
            liveness,
            pooled_transactions,
            replica: None,
            replica_benched_until: Default::default(),
        };
        self.replica = Some(Box::new(replica));
        Ok(self)
    }

    /// The same with another timeout for each store call.
    pub async fn open_with_timeout(url: &str, timeout: Duration) -> StoreResult<PostgresStore> {
        PostgresStore::open_with(url, None, timeout).await
    }

    /// The same, in a schema of its own (created if needed): how tests isolate themselves.
    pub async fn open_in_schema(url: &str, schema: &str) -> StoreResult<PostgresStore> {
        PostgresStore::open_with(url, Some(schema), DEFAULT_TIMEOUT).await
    }

    async fn open_with(url: &str, schema: Option<&str>, timeout: Duration) -> StoreResult<PostgresStore> {
        let (url, pooled_transactions) = tls::take_pooler_parameter(url).map_err(StoreError::Backend)?;
        let (mut config, tls) = tls::connection(&url, tokio_postgres::config::TargetSessionAttrs::ReadWrite)
            .map_err(StoreError::Backend)?;
        if let Some(schema) = schema {
            let valid =
                !schema.is_empty() && schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(StoreError::Backend(format!("invalid schema name {schema:?}")));
            }
            let (client, connection) = config.connect(tls.clone()).await.map_err(|e| store_error(pg(e)))?;
            tokio::spawn(connection);
            // Racing creations of one schema (tests starting together) fail with a duplicate:
            // the schema then exists.
            match client.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).await.map_err(pg) {
                Ok(()) | Err(Fail::Store(StoreError::Conflict(_))) => {}
                Err(fail) => return Err(store_error(fail)),
            }
            let options = config.get_options().unwrap_or_default().to_owned();
            config.options(format!("{options} -c search_path={schema}"));
        }
        let (pool, liveness) = PostgresStore::pool(config, tls, timeout, pooled_transactions)?;
        // Migrations may rewrite large tables: they get far more than a request.
        let long = timeout.max(Duration::from_secs(600));
        let migrating = PostgresStore {
            pool: pool.clone(),
            timeout: long,
            liveness: liveness.clone(),
            pooled_transactions,
            replica: None,
            replica_benched_until: Default::default(),
        };
        migrating.migrate().await?;
        Ok(PostgresStore {
            pool,
            timeout,
            liveness,
            pooled_transactions,
            replica: None,
            replica_benched_until: Default::default(),
        })
    }

    /// The pool of connections made with `config`, and the heartbeat that tells a silent
    /// server from a busy one.
    fn pool(
        mut config: tokio_postgres::Config,
        tls: tls::MakeRustls,
        timeout: Duration,
        pooled_transactions: bool,
    ) -> StoreResult<(Pool, std::sync::Arc<timeouts::Liveness>)> {
        with_timeouts(&mut config, timeout, !pooled_transactions);
        let heartbeat_config = config.clone();
        let manager =
            Manager::from_config(config, tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
        // Bounded waits: while PostgreSQL is down or hung a request fails within the timeout
        // (503), it never waits for a connection that cannot be made or a busy pool.
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(timeout * BUSY_FACTOR))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let liveness = timeouts::Liveness::new();
        spawn_heartbeat(heartbeat_config, tls, std::sync::Arc::downgrade(&liveness), timeout);
        Ok((pool, liveness))
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
    client: &Db<'_>,
    (count, page): (Statement, Statement),
    row: impl Fn(&tokio_postgres::Row) -> Result<T, Fail>,
) -> Result<Page<T>, Fail> {
    let count_values = sql_values(&count.values);
    let params: Params = count_values.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
    let total: i64 = client.query_one_made(&count.text, &params).await.map_err(pg)?.get(0);
    Ok(Page { items: run_page(client, page, row).await?, total: total.max(0) as u64 })
}

/// A list's page alone, not counted.
async fn run_page<T>(
    client: &Db<'_>,
    page: Statement,
    row: impl Fn(&tokio_postgres::Row) -> Result<T, Fail>,
) -> Result<Vec<T>, Fail> {
    let page_values = sql_values(&page.values);
    let params: Params = page_values.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
    let rows = client.query_made(&page.text, &params).await.map_err(pg)?;
    rows.iter().map(row).collect()
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
