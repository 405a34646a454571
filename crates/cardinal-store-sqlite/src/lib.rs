//! Cardinal's embedded backend: SQLite with WAL, `synchronous=FULL`, foreign keys and
//! group commit. See [`engine`] for the write path.

mod cache;
mod card_events;
mod cards;
mod credentials;
mod engine;
mod idempotency;
mod leases;
mod migrations;
mod oauth;
mod operator;
mod organizations;
mod receipts;
mod requests;
mod rows;
mod sca;
mod settings;
mod stats;
mod transactions;
mod webhook_health;
mod webhooks;

use cardinal_store::sql::Statement;
use cardinal_store::{Page, StoreError, StoreResult, StoredCard};
use cards::load_card;
use engine::Engine;
pub use engine::Location;
use rusqlite::{params_from_iter, Connection, ToSql};
use std::sync::Arc;
use uuid::Uuid;

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
    async fn cached_card(&self, id: Uuid) -> StoreResult<Option<Arc<StoredCard>>> {
        if let Some(hit) = self.cache.card(id) {
            return Ok(Some(hit));
        }
        let epoch = self.cache.epoch();
        let found = self.engine.read(move |conn| load_card(conn, None, id)).await?.map(Arc::new);
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
    Ok(page_of(run_page(conn, page, row)?, total))
}

/// A list's page alone, not counted.
fn run_page<T>(
    conn: &Connection,
    page: Statement,
    row: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
) -> StoreResult<Vec<T>> {
    conn.prepare_cached(&page.text)
        .and_then(|mut s| {
            // Capped: an internal caller may ask for everything at once (`per_page` as large as it
            // likes), and that is no reason to reserve memory for rows that are not there.
            let mut items = Vec::with_capacity(page.rows.min(1_000));
            for item in s.query_map(params_from_iter(sql_values(&page.values).iter()), row)? {
                items.push(item?);
            }
            Ok(items)
        })
        .map_err(sql)
}
