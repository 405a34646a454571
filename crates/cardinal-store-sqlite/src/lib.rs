//! Cardinal's embedded backend: SQLite with WAL, `synchronous=FULL`, foreign keys and
//! group commit. See [`engine`] for the write path.

mod cache;
mod engine;
mod rows;
mod stats;

pub use engine::Location;

use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::sql::{
    card_list_counted, organization_rows, transaction_list, CardCounting, Dialect, Statement, CARD_FROM, CARD_SELECT,
    TRANSACTION_COLUMNS,
};
use cardinal_store::*;
use engine::Engine;
use jiff::Timestamp;
use rows::*;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, ToSql};
use std::sync::LazyLock;
use uuid::Uuid;

pub struct SqliteStore {
    engine: Engine,
    cache: std::sync::Arc<cache::Cache>,
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
        let location =
            Location::parse(url).ok_or_else(|| StoreError::Backend(format!("not a SQLite database URL: {url}")))?;
        let max_pages = engine::url_option(url, "max_pages")
            .map(|v| v.parse::<u64>().map_err(|_| StoreError::Backend(format!("max_pages must be a number in {url}"))))
            .transpose()?;
        Ok(SqliteStore { engine: Engine::open_with(location, max_pages)?, cache: Default::default() })
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

/// A card's sealed secrets from three columns starting at `first`.
fn secrets_at(r: &rusqlite::Row, first: usize) -> rusqlite::Result<CardSecrets> {
    let fingerprint: Vec<u8> = r.get(first + 2)?;
    Ok(CardSecrets {
        pan_ciphertext: r.get(first)?,
        cvv_ciphertext: r.get(first + 1)?,
        pan_fingerprint: fingerprint.try_into().unwrap_or([0; 32]),
    })
}

fn page_of<T>(items: Vec<T>, total: i64) -> Page<T> {
    Page { items, total: total.max(0) as u64 }
}

const CREDENTIAL_FROM: &str = "FROM credentials c \
     JOIN organizations o ON o.id = c.organization_id \
     JOIN memberships m ON m.id = c.membership_id";

fn credential_select() -> String {
    format!(
        "SELECT {}, {}, {} {CREDENTIAL_FROM}",
        columns("c", CREDENTIAL),
        columns("o", ORGANIZATION),
        columns("m", MEMBERSHIP)
    )
}

fn load_card(conn: &Connection, org: Option<Uuid>, id: Uuid) -> StoreResult<Option<StoredCard>> {
    conn.prepare_cached(&LOAD_CARD)
        .and_then(|mut s| s.query_row(params![id.to_string(), org.map(|o| o.to_string())], stored_card).optional())
        .map_err(sql)
}

// Statements on the hot paths are built once: building them per call costs allocations and a
// statement-cache lookup keyed by a freshly made string.
static LOAD_CARD: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {CARD_SELECT} {CARD_FROM} WHERE c.id = ?1 AND (?2 IS NULL OR c.organization_id = ?2)")
});
static LOAD_ACCOUNT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM bank_accounts b WHERE b.id = ?1", columns("b", BANK_ACCOUNT)));
static SAVE_CARD: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = CARD_INDEX_COLUMNS.iter().enumerate().map(|(i, n)| format!("{n} = ?{}", i + 1)).collect();
    format!("UPDATE cards SET {} WHERE id = ?{}", sets.join(", "), sets.len() + 1)
});
static CREDENTIAL_BY_HASH: LazyLock<String> =
    LazyLock::new(|| format!("{} WHERE c.secret_hash = ?1", credential_select()));
static INSERT_CARD: LazyLock<String> = LazyLock::new(|| {
    let names: Vec<&str> = NEW_CARD_COLUMNS.iter().chain(CARD_INDEX_COLUMNS).copied().collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    format!("INSERT INTO cards ({}) VALUES ({})", names.join(", "), placeholders.join(", "))
});
/// The columns a new card row has besides its indexed copies, in [`insert_card`]'s order.
const NEW_CARD_COLUMNS: &[&str] = &[
    "id",
    "organization_id",
    "holder_id",
    "bank_account_id",
    "created_at",
    "pan_ciphertext",
    "cvv_ciphertext",
    "pan_fingerprint",
];
static LOAD_TRANSACTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = ?1 AND (?2 IS NULL OR t.organization_id = ?2)"
    )
});
static ORGANIZATION_BY_ID: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM organizations o WHERE o.id = ?1", columns("o", ORGANIZATION)));

fn load_account(conn: &Connection, id: Uuid) -> StoreResult<BankAccount> {
    conn.prepare_cached(&LOAD_ACCOUNT)
        .and_then(|mut s| s.query_row([id.to_string()], |r| bank_account(r, "b")))
        .map_err(sql)
}

fn save_account(conn: &Connection, account: &BankAccount) -> StoreResult<()> {
    conn.prepare_cached(
        "UPDATE bank_accounts SET balance_cents = ?1, authorized_balance_cents = ?2, updated_at = ?3 WHERE id = ?4",
    )
    .and_then(|mut s| {
        s.execute(params![
            account.balance.0,
            account.authorized_balance.0,
            seconds(account.updated_at),
            account.id.to_string()
        ])
    })
    .map_err(sql)?;
    Ok(())
}

fn transaction_row(r: &rusqlite::Row) -> rusqlite::Result<Transaction> {
    let status: String = r.get(10)?;
    let date = |text: Option<String>| -> rusqlite::Result<Option<jiff::civil::Date>> {
        text.map(|t| {
            t.parse().map_err(|e: jiff::Error| {
                rusqlite::Error::FromSqlConversionFailure(16, rusqlite::types::Type::Text, e.to_string().into())
            })
        })
        .transpose()
    };
    let settled_at: Option<i64> = r.get(20)?;
    let settled_balance: Option<i64> = r.get(21)?;
    Ok(Transaction {
        id: uuid(r.get(0)?)?,
        organization_id: uuid(r.get(1)?)?,
        bank_account_id: uuid(r.get(2)?)?,
        card_id: uuid(r.get(3)?)?,
        holder_id: uuid(r.get(4)?)?,
        slug: r.get(5)?,
        amount: cardinal_domain::Cents(r.get(6)?),
        currency: r.get(7)?,
        side: r.get(8)?,
        operation_type: r.get(9)?,
        status: TransactionStatus::parse(&status).unwrap_or(TransactionStatus::Declined),
        decline_reason: r.get(11)?,
        label: r.get(12)?,
        category: r.get(13)?,
        merchant_country: r.get(14)?,
        channel: r.get(15)?,
        counted_day: date(r.get(16)?)?,
        counted_month: date(r.get(17)?)?,
        card_last_digits: r.get(18)?,
        emitted_at: timestamp(r.get(19)?)?,
        settled_at: settled_at.map(timestamp).transpose()?,
        settled_balance: settled_balance.map(cardinal_domain::Cents),
        created_at: timestamp(r.get(22)?)?,
        updated_at: timestamp(r.get(23)?)?,
    })
}

fn load_transaction(conn: &Connection, org: Option<Uuid>, id: Uuid) -> StoreResult<Option<Transaction>> {
    conn.prepare_cached(&LOAD_TRANSACTION)
        .and_then(|mut s| s.query_row(params![id.to_string(), org.map(|o| o.to_string())], transaction_row).optional())
        .map_err(sql)
}

fn upsert_transaction(conn: &Connection, t: &Transaction) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO transactions (id, organization_id, bank_account_id, card_id, holder_id, slug, amount_cents, \
         currency, side, operation_type, status, decline_reason, label, category, merchant_country, channel, \
         counted_day, counted_month, card_last_digits, emitted_at, settled_at, settled_balance_cents, created_at, \
         updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
         ?20, ?21, ?22, ?23, ?24) ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
         settled_at = excluded.settled_at, settled_balance_cents = excluded.settled_balance_cents, \
         updated_at = excluded.updated_at",
    )
    .and_then(|mut s| {
        s.execute(params![
            t.id.to_string(),
            t.organization_id.to_string(),
            t.bank_account_id.to_string(),
            t.card_id.to_string(),
            t.holder_id.to_string(),
            t.slug,
            t.amount.0,
            t.currency,
            t.side,
            t.operation_type,
            t.status.as_str(),
            t.decline_reason,
            t.label,
            t.category,
            t.merchant_country,
            t.channel,
            t.counted_day.map(|d| d.to_string()),
            t.counted_month.map(|d| d.to_string()),
            t.card_last_digits,
            seconds(t.emitted_at),
            t.settled_at.map(seconds),
            t.settled_balance.map(|b| b.0),
            seconds(t.created_at),
            seconds(t.updated_at),
        ])
    })
    .map_err(sql)?;
    Ok(())
}

fn holder_of(conn: &Connection, org: Uuid, holder: Uuid) -> StoreResult<Option<Holder>> {
    conn.prepare_cached("SELECT first_name, last_name, team_id FROM memberships WHERE id = ?1 AND organization_id = ?2")
        .and_then(|mut s| {
            s.query_row([holder.to_string(), org.to_string()], |r| {
                let team: Option<String> = r.get(2)?;
                Ok(Holder { first_name: r.get(0)?, last_name: r.get(1)?, team_id: team.map(uuid).transpose()? })
            })
            .optional()
        })
        .map_err(sql)
}

fn load_sca_session(conn: &Connection, hash: &[u8]) -> StoreResult<Option<ScaSession>> {
    conn.prepare_cached(
        "SELECT token_hash, organization_id, membership_id, action_type, request_hash, result, created_at, \
         expires_at, consumed_at FROM sca_sessions WHERE token_hash = ?1",
    )
    .and_then(|mut s| {
        s.query_row([hash], |r| {
            let token: Vec<u8> = r.get(0)?;
            let request: Vec<u8> = r.get(4)?;
            let result: String = r.get(5)?;
            let consumed: Option<i64> = r.get(8)?;
            Ok(ScaSession {
                token_hash: token.try_into().unwrap_or([0; 32]),
                organization_id: uuid(r.get(1)?)?,
                membership_id: uuid(r.get(2)?)?,
                action_type: r.get(3)?,
                request_hash: request.try_into().unwrap_or([0; 32]),
                result: ScaResult::parse(&result).unwrap_or(ScaResult::Deny),
                created_at: timestamp(r.get(6)?)?,
                expires_at: timestamp(r.get(7)?)?,
                consumed_at: consumed.map(timestamp).transpose()?,
            })
        })
        .optional()
    })
    .map_err(sql)
}

/// Claims an idempotency key, or says why it cannot be claimed. Runs on the writer thread,
/// so two requests with one key can never both start.
fn begin_idempotent(conn: &Connection, r: &IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
    let now = seconds(r.now);
    let existing = conn
        .prepare_cached(
            "SELECT request_hash, state, status, response, created_at FROM idempotency_keys \
             WHERE scope_hash = ?1 AND key = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![r.scope_hash.to_vec(), r.key], |row| {
                Ok(StoredIdempotencyKey {
                    request_hash: row.get(0)?,
                    state: row.get(1)?,
                    status: row.get(2)?,
                    response: row.get(3)?,
                    created_at: row.get(4)?,
                })
            })
            .optional()
        })
        .map_err(sql)?;
    if let Some(IdempotencyDecision::Answer(answer)) = existing.map(|stored| decide_idempotent(&stored, r)) {
        return Ok(answer);
    }
    // Expired entries are swept here, a few at a time, rather than by a separate job.
    conn.execute(
        "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at <= ?1 LIMIT 64)",
        [now - r.keep_for_seconds],
    )
    .map_err(sql)?;
    // A new key, or one taken over: the writer is the only one, so an upsert claims it.
    conn.execute(
        "INSERT INTO idempotency_keys (scope_hash, key, request_hash, state, status, response, created_at) \
         VALUES (?1, ?2, ?3, 'running', NULL, NULL, ?4) \
         ON CONFLICT (scope_hash, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'running', \
         status = NULL, response = NULL, created_at = excluded.created_at",
        params![r.scope_hash.to_vec(), r.key, r.request_hash.to_vec(), now],
    )
    .map_err(sql)?;
    Ok(IdempotencyBegin::Started)
}

fn insert_card(conn: &Connection, stored: &StoredCard, secrets: &CardSecrets) -> StoreResult<()> {
    let c = &stored.card;
    let mut values: Vec<Box<dyn ToSql>> = vec![
        Box::new(c.id.to_string()),
        Box::new(c.organization_id.to_string()),
        Box::new(c.holder_id.to_string()),
        Box::new(c.bank_account_id.to_string()),
        Box::new(seconds(c.created_at)),
        Box::new(secrets.pan_ciphertext.clone()),
        Box::new(secrets.cvv_ciphertext.clone()),
        Box::new(secrets.pan_fingerprint.to_vec()),
    ];
    values.extend(card_index_values(stored)?);
    conn.prepare_cached(&INSERT_CARD).and_then(|mut s| s.execute(params_from_iter(values.iter()))).map_err(sql)?;
    Ok(())
}

fn save_card(conn: &Connection, stored: &StoredCard) -> StoreResult<()> {
    let mut values = card_index_values(stored)?;
    values.push(Box::new(stored.card.id.to_string()));
    conn.prepare_cached(&SAVE_CARD).and_then(|mut s| s.execute(params_from_iter(values.iter()))).map_err(sql)?;
    Ok(())
}

fn insert_event(conn: &Connection, event: &AuditEvent) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO card_events (id, card_id, action, actor_type, actor_id, from_status, to_status, \
         changes, request_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            event.id.to_string(),
            event.card_id.to_string(),
            event.action,
            event.actor.kind.as_str(),
            event.actor.id.map(|i| i.to_string()),
            event.from_status.map(|s| s.as_str()),
            event.to_status.as_str(),
            event.changes.to_string(),
            event.request_id,
            seconds(event.at),
        ])
    })
    .map_err(sql)?;
    Ok(())
}

fn insert_credential_row(conn: &Connection, c: &NewCredential) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO credentials (id, organization_id, membership_id, kind, secret_hash, scopes, \
         expires_at, revoked_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
    )
    .and_then(|mut s| {
        s.execute(params![
            c.id.to_string(),
            c.organization_id.to_string(),
            c.membership_id.to_string(),
            c.kind.as_str(),
            c.secret_hash.to_vec(),
            c.scopes.join(" "),
            c.expires_at.map(seconds),
            seconds(c.created_at),
        ])
    })
    .map_err(sql)?;
    Ok(())
}

fn insert_seed(conn: &Connection, seed: &OrganizationSeed) -> StoreResult<()> {
    let o = &seed.organization;
    conn.execute(
        "INSERT INTO organizations (id, slug, legal_name, locale, timezone, country, sca_mode, \
         clock_offset_seconds, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            o.id.to_string(),
            o.slug,
            o.legal_name,
            o.locale,
            o.timezone,
            o.country,
            o.sca_mode.as_str(),
            o.clock_offset_seconds,
            seconds(o.created_at)
        ],
    )
    .map_err(sql)?;
    for t in &seed.teams {
        conn.execute(
            "INSERT INTO teams (id, organization_id, name) VALUES (?1, ?2, ?3)",
            params![t.id.to_string(), t.organization_id.to_string(), t.name],
        )
        .map_err(sql)?;
    }
    for b in &seed.bank_accounts {
        conn.execute(
            "INSERT INTO bank_accounts (id, organization_id, name, status, main, iban, bic, currency, \
             balance_cents, authorized_balance_cents, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                b.id.to_string(),
                b.organization_id.to_string(),
                b.name,
                b.status,
                b.main,
                b.iban,
                b.bic,
                b.currency,
                b.balance.0,
                b.authorized_balance.0,
                seconds(b.created_at),
                seconds(b.updated_at)
            ],
        )
        .map_err(sql)?;
    }
    for m in &seed.memberships {
        conn.execute(
            "INSERT INTO memberships (id, organization_id, first_name, last_name, email, role, status, \
             team_id, locale, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                m.id.to_string(),
                m.organization_id.to_string(),
                m.first_name,
                m.last_name,
                m.email,
                m.role.as_str(),
                m.status,
                m.team_id.map(|t| t.to_string()),
                m.locale,
                seconds(m.created_at)
            ],
        )
        .map_err(sql)?;
    }
    for c in &seed.credentials {
        insert_credential_row(conn, c)?;
    }
    for new in &seed.cards {
        let holder = seed
            .holder_of(new.card.holder_id)
            .ok_or_else(|| StoreError::Conflict("a seeded card's holder is not a seeded member".into()))?;
        insert_card(conn, &StoredCard { card: new.card.clone(), holder }, &new.secrets)?;
    }
    for e in &seed.events {
        insert_event(conn, e)?;
    }
    Ok(())
}

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
        self.engine
            .read(|conn| {
                conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM organizations)", [], |r| r.get(0)).map_err(sql)
            })
            .await
    }

    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let key = key.to_owned();
        self.engine
            .read(move |conn| {
                conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(sql)
            })
            .await
    }

    async fn init_setting(&self, key: &str, value: &str) -> StoreResult<String> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                    [&key, &value],
                )
                .map_err(sql)?;
                conn.query_row("SELECT value FROM settings WHERE key = ?1", [&key], |r| r.get(0)).map_err(sql)
            })
            .await
    }

    async fn set_setting(&self, key: &str, value: Option<&str>) -> StoreResult<()> {
        let (key, value) = (key.to_owned(), value.map(str::to_owned));
        self.engine
            .write(move |conn| {
                match value {
                    Some(value) => conn.execute(
                        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
                        [&key, &value],
                    ),
                    None => conn.execute("DELETE FROM settings WHERE key = ?1", [&key]),
                }
                .map(|_| ())
                .map_err(sql)
            })
            .await
    }

    async fn sealed_cards(&self, after: Option<Uuid>, limit: u32) -> StoreResult<Vec<(Uuid, CardSecrets)>> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        self.engine
            .read(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "SELECT id, pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards \
                         WHERE id > ?1 ORDER BY id LIMIT ?2",
                    )
                    .map_err(sql)?;
                let rows = statement
                    .query_map(params![after, limit], |r| {
                        let id: String = r.get(0)?;
                        Ok((id, secrets_at(r, 1)?))
                    })
                    .map_err(sql)?;
                rows.map(|row| {
                    let (id, secrets) = row.map_err(sql)?;
                    Ok((uuid(id).map_err(sql)?, secrets))
                })
                .collect()
            })
            .await
    }

    async fn reseal_cards(&self, cards: Vec<(Uuid, CardSecrets)>) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                let mut statement = conn
                    .prepare_cached(
                        "UPDATE cards SET pan_ciphertext = ?1, cvv_ciphertext = ?2, pan_fingerprint = ?3 WHERE id = ?4",
                    )
                    .map_err(sql)?;
                for (id, s) in &cards {
                    statement
                        .execute(params![
                            s.pan_ciphertext,
                            s.cvv_ciphertext,
                            s.pan_fingerprint.to_vec(),
                            id.to_string()
                        ])
                        .map_err(sql)?;
                }
                Ok(())
            })
            .await
    }

    async fn create_organization(&self, seed: OrganizationSeed) -> StoreResult<()> {
        self.engine.write(move |conn| insert_seed(conn, &seed)).await
    }

    async fn delete_organization(&self, id: Uuid) -> StoreResult<bool> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let deleted =
                        conn.execute("DELETE FROM organizations WHERE id = ?1", [id.to_string()]).map_err(sql)?;
                    Ok(deleted > 0)
                },
                // The deletion cascades to credentials and cards: none may outlive it in the cache.
                move |deleted| cache.committed_other(*deleted),
            )
            .await
    }

    async fn organization(&self, id: Uuid) -> StoreResult<Option<Organization>> {
        // Every sandbox payment reads its card's organization (its clock and time zone).
        if let Some(hit) = self.cache.organization(id) {
            return Ok(Some(hit));
        }
        let epoch = self.cache.epoch();
        let found = self
            .engine
            .read(move |conn| {
                conn.prepare_cached(&ORGANIZATION_BY_ID)
                    .and_then(|mut s| s.query_row([id.to_string()], |r| organization(r, "o")).optional())
                    .map_err(sql)
            })
            .await?;
        if let Some(organization) = &found {
            self.cache.fill_organization(epoch, organization);
        }
        Ok(found)
    }

    async fn advance_clock(&self, id: Uuid, change: ClockChange) -> StoreResult<Option<Organization>> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    conn.execute(change.statement(Dialect::Sqlite), params![id.to_string(), change.seconds()])
                        .map_err(sql)?;
                    conn.prepare_cached(&ORGANIZATION_BY_ID)
                        .and_then(|mut s| s.query_row([id.to_string()], |r| organization(r, "o")).optional())
                        .map_err(sql)
                },
                // Credentials embed their organization, clock included.
                move |_| cache.committed_other(false),
            )
            .await
    }

    async fn bank_accounts(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<BankAccount>> {
        let statements = organization_rows("bank_accounts", "b", BANK_ACCOUNT, org, page, Dialect::Sqlite);
        self.engine.read(move |conn| run_list(conn, statements, |r| bank_account(r, "b"))).await
    }

    async fn bank_account(&self, org: Uuid, id: Uuid) -> StoreResult<Option<BankAccount>> {
        self.engine
            .read(move |conn| {
                let q = format!(
                    "SELECT {} FROM bank_accounts b WHERE b.id = ?1 AND b.organization_id = ?2",
                    columns("b", BANK_ACCOUNT)
                );
                conn.prepare_cached(&q)
                    .and_then(|mut s| {
                        s.query_row([id.to_string(), org.to_string()], |r| bank_account(r, "b")).optional()
                    })
                    .map_err(sql)
            })
            .await
    }

    async fn memberships(&self, org: Uuid, page: PageRequest) -> StoreResult<Page<Membership>> {
        let statements = organization_rows("memberships", "m", MEMBERSHIP, org, page, Dialect::Sqlite);
        self.engine.read(move |conn| run_list(conn, statements, |r| membership(r, "m"))).await
    }

    async fn membership(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Membership>> {
        Ok(self.membership_by_id(id).await?.filter(|m| m.organization_id == org))
    }

    async fn membership_by_id(&self, id: Uuid) -> StoreResult<Option<Membership>> {
        self.engine
            .read(move |conn| {
                let q = format!("SELECT {} FROM memberships m WHERE m.id = ?1", columns("m", MEMBERSHIP));
                conn.prepare_cached(&q)
                    .and_then(|mut s| s.query_row([id.to_string()], |r| membership(r, "m")).optional())
                    .map_err(sql)
            })
            .await
    }

    async fn credential_by_hash(&self, secret_hash: &[u8; 32]) -> StoreResult<Option<Credential>> {
        if let Some(hit) = self.cache.credential(secret_hash) {
            return Ok(Some(hit));
        }
        let epoch = self.cache.epoch();
        let hash = secret_hash.to_vec();
        let found = self
            .engine
            .read(move |conn| {
                conn.prepare_cached(&CREDENTIAL_BY_HASH)
                    .and_then(|mut s| s.query_row([hash], credential).optional())
                    .map_err(sql)
            })
            .await?;
        if let Some(credential) = &found {
            self.cache.fill_credential(epoch, credential);
        }
        Ok(found)
    }

    async fn api_key_by_slug(&self, slug: &str) -> StoreResult<Option<Credential>> {
        let slug = slug.to_owned();
        self.engine
            .read(move |conn| {
                let q = format!(
                    "{} WHERE o.slug = ?1 AND c.kind = 'api_key' AND c.revoked_at IS NULL",
                    credential_select()
                );
                conn.prepare_cached(&q).and_then(|mut s| s.query_row([slug], credential).optional()).map_err(sql)
            })
            .await
    }

    async fn insert_credential(&self, credential: NewCredential) -> StoreResult<()> {
        self.engine.write(move |conn| insert_credential_row(conn, &credential)).await
    }

    async fn revoke_credential(&self, secret_hash: &[u8; 32], at: Timestamp) -> StoreResult<bool> {
        let hash = secret_hash.to_vec();
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let changed = conn
                        .execute(
                            "UPDATE credentials SET revoked_at = ?1 \
                             WHERE secret_hash = ?2 AND kind = 'access_token' AND revoked_at IS NULL",
                            params![seconds(at), hash],
                        )
                        .map_err(sql)?;
                    Ok(changed > 0)
                },
                move |_| cache.committed_other(false),
            )
            .await
    }

    async fn list_cards(&self, query: &CardQuery) -> StoreResult<Page<StoredCard>> {
        let query = query.clone();
        // Triggers keep `card_counts` (migration 0004), so totals cost the same at any size.
        let statements = card_list_counted(&query, Dialect::Sqlite, CardCounting::Groups);
        self.engine.read(move |conn| run_list(conn, statements, stored_card)).await
    }

    async fn card(&self, org: Uuid, id: Uuid) -> StoreResult<Option<StoredCard>> {
        Ok(self.cached_card(id).await?.filter(|c| c.card.organization_id == org))
    }

    async fn card_by_id(&self, id: Uuid) -> StoreResult<Option<StoredCard>> {
        self.cached_card(id).await
    }

    async fn update_card(&self, org: Uuid, id: Uuid, mut change: CardChange) -> StoreResult<StoredCard> {
        let cache = self.cache.clone();
        let (stored, _) = self
            .engine
            .write_then(
                move |conn| {
                    // The writer thread is the only writer: the card cannot change under us.
                    let mut stored = load_card(conn, Some(org), id)?.ok_or(DomainError::NotFound)?;
                    let written = match change(&mut stored)? {
                        Some(event) => {
                            save_card(conn, &stored)?;
                            insert_event(conn, &event)?;
                            true
                        }
                        None => false,
                    };
                    Ok((stored, written))
                },
                move |(stored, written)| {
                    if *written {
                        cache.committed_cards([stored]);
                    }
                },
            )
            .await?;
        Ok(stored)
    }

    async fn insert_cards(&self, cards: Vec<NewCard>, events: Vec<AuditEvent>) -> StoreResult<Vec<StoredCard>> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let mut stored = Vec::with_capacity(cards.len());
                    for new in &cards {
                        let holder =
                            holder_of(conn, new.card.organization_id, new.card.holder_id)?.ok_or_else(|| {
                                StoreError::Conflict("the holder is not a member of the organization".into())
                            })?;
                        let card = StoredCard { card: new.card.clone(), holder };
                        insert_card(conn, &card, &new.secrets)?;
                        stored.push(card);
                    }
                    for event in &events {
                        insert_event(conn, event)?;
                    }
                    Ok(stored)
                },
                move |stored| cache.committed_cards(stored),
            )
            .await
    }

    async fn insert_sca_session(&self, session: ScaSession) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO sca_sessions (token_hash, organization_id, membership_id, action_type, request_hash, \
                     result, created_at, expires_at, consumed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        session.token_hash.to_vec(),
                        session.organization_id.to_string(),
                        session.membership_id.to_string(),
                        session.action_type,
                        session.request_hash.to_vec(),
                        session.result.as_str(),
                        seconds(session.created_at),
                        seconds(session.expires_at),
                    ])
                })
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn sca_session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ScaSession>> {
        let hash = token_hash.to_vec();
        self.engine.read(move |conn| load_sca_session(conn, &hash)).await
    }

    async fn decide_sca_session(&self, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>> {
        let hash = token_hash.to_vec();
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE sca_sessions SET result = ?1 WHERE token_hash = ?2 AND result = 'waiting'",
                    params![result.as_str(), hash],
                )
                .map_err(sql)?;
                load_sca_session(conn, &hash)
            })
            .await
    }

    async fn consume_sca_session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<bool> {
        let hash = token_hash.to_vec();
        self.engine
            .write(move |conn| {
                let changed = conn
                    .execute(
                        "UPDATE sca_sessions SET consumed_at = ?1 WHERE token_hash = ?2 AND result = 'allow' \
                         AND consumed_at IS NULL AND expires_at > ?1",
                        params![seconds(now), hash],
                    )
                    .map_err(sql)?;
                Ok(changed == 1)
            })
            .await
    }

    async fn begin_idempotent(&self, request: IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
        self.engine.write(move |conn| begin_idempotent(conn, &request)).await
    }

    async fn finish_idempotent(
        &self,
        scope_hash: [u8; 32],
        key: String,
        status: u16,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE idempotency_keys SET state = 'done', status = ?1, response = ?2 \
                     WHERE scope_hash = ?3 AND key = ?4",
                    params![status, body, scope_hash.to_vec(), key],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn abandon_idempotent(&self, scope_hash: [u8; 32], key: String) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM idempotency_keys WHERE scope_hash = ?1 AND key = ?2 AND state = 'running'",
                    params![scope_hash.to_vec(), key],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn insert_data_view_token(&self, token: DataViewToken) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO data_view_tokens (token_hash, card_id, organization_id, membership_id, expires_at, used_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
                    params![
                        token.token_hash.to_vec(),
                        token.card_id.to_string(),
                        token.organization_id.to_string(),
                        token.membership_id.to_string(),
                        seconds(token.expires_at)
                    ],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn open_data_view(
        &self,
        token_hash: &[u8; 32],
        real_now: Timestamp,
        mut audit: DataViewAudit,
    ) -> StoreResult<Option<(StoredCard, CardSecrets)>> {
        let hash = token_hash.to_vec();
        self.engine
            .write(move |conn| {
                // Lifetimes run on the token's organization's clock.
                let grant: Option<(String, String, String, i64)> = conn
                    .query_row(
                        "UPDATE data_view_tokens SET used_at = ?1 + (SELECT clock_offset_seconds FROM organizations o \
                         WHERE o.id = data_view_tokens.organization_id) WHERE token_hash = ?2 AND used_at IS NULL \
                         AND expires_at > ?1 + (SELECT clock_offset_seconds FROM organizations o \
                         WHERE o.id = data_view_tokens.organization_id) \
                         RETURNING card_id, organization_id, membership_id, used_at",
                        params![seconds(real_now), hash],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )
                    .optional()
                    .map_err(sql)?;
                let Some((card_id, org_id, membership_id, used_at)) = grant else { return Ok(None) };
                let now = timestamp(used_at).map_err(sql)?;
                let (card_id, org_id, membership_id) =
                    (uuid(card_id).map_err(sql)?, uuid(org_id).map_err(sql)?, uuid(membership_id).map_err(sql)?);
                let Some(stored) = load_card(conn, Some(org_id), card_id)? else { return Ok(None) };
                let secrets = conn
                    .query_row(
                        "SELECT pan_ciphertext, cvv_ciphertext, pan_fingerprint FROM cards WHERE id = ?1",
                        [card_id.to_string()],
                        |r| secrets_at(r, 0),
                    )
                    .map_err(sql)?;
                insert_event(conn, &audit(&stored, membership_id, now))?;
                Ok(Some((stored, secrets)))
            })
            .await
    }

    async fn pay(&self, org: Uuid, card: Uuid, mut change: PaymentChange) -> StoreResult<(StoredCard, Transaction)> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    // The writer thread is the only writer: nothing changes the card or the account
                    // between this read and the commit, so limits and locks hold under any load.
                    let mut stored = load_card(conn, Some(org), card)?.ok_or(DomainError::NotFound)?;
                    let mut account = load_account(conn, stored.card.bank_account_id)?;
                    let transaction = change(&mut stored, &mut account)?;
                    save_card(conn, &stored)?;
                    save_account(conn, &account)?;
                    upsert_transaction(conn, &transaction)?;
                    Ok((stored, transaction))
                },
                move |(stored, _)| cache.committed_cards([stored]),
            )
            .await
    }

    async fn change_transaction(
        &self,
        id: Uuid,
        mut change: TransactionChange,
    ) -> StoreResult<(Transaction, StoredCard)> {
        let cache = self.cache.clone();
        self.engine
            .write_then(
                move |conn| {
                    let mut transaction = load_transaction(conn, None, id)?.ok_or(DomainError::NotFound)?;
                    let mut stored = load_card(conn, Some(transaction.organization_id), transaction.card_id)?
                        .ok_or(DomainError::NotFound)?;
                    let mut account = load_account(conn, transaction.bank_account_id)?;
                    change(&mut transaction, &mut stored, &mut account)?;
                    save_card(conn, &stored)?;
                    save_account(conn, &account)?;
                    upsert_transaction(conn, &transaction)?;
                    Ok((transaction, stored))
                },
                move |(_, stored)| cache.committed_cards([stored]),
            )
            .await
    }

    async fn transaction(&self, org: Uuid, id: Uuid) -> StoreResult<Option<Transaction>> {
        self.engine.read(move |conn| load_transaction(conn, Some(org), id)).await
    }

    async fn transaction_organization(&self, id: Uuid) -> StoreResult<Option<Uuid>> {
        self.engine
            .read(move |conn| {
                let org: Option<String> = conn
                    .query_row("SELECT organization_id FROM transactions WHERE id = ?1", [id.to_string()], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                org.map(uuid).transpose().map_err(sql)
            })
            .await
    }

    async fn list_transactions(&self, query: &TransactionQuery) -> StoreResult<Page<Transaction>> {
        let query = query.clone();
        self.engine.read(move |conn| run_list(conn, transaction_list(&query, Dialect::Sqlite), transaction_row)).await
    }

    async fn card_events(&self, org: Uuid, card: Uuid) -> StoreResult<Vec<AuditEvent>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(
                    "SELECT e.id, e.card_id, e.action, e.actor_type, e.actor_id, e.from_status, e.to_status, \
                     e.changes, e.request_id, e.at FROM card_events e JOIN cards c ON c.id = e.card_id \
                     WHERE e.card_id = ?1 AND c.organization_id = ?2 ORDER BY e.seq",
                )
                .and_then(|mut s| {
                    s.query_map([card.to_string(), org.to_string()], |r| {
                        let actor_type: String = r.get(3)?;
                        let actor_id: Option<String> = r.get(4)?;
                        let from: Option<String> = r.get(5)?;
                        let to: String = r.get(6)?;
                        let changes: String = r.get(7)?;
                        Ok(AuditEvent {
                            id: uuid(r.get(0)?)?,
                            card_id: uuid(r.get(1)?)?,
                            action: r.get(2)?,
                            actor: Actor {
                                kind: ActorKind::parse(&actor_type).unwrap_or(ActorKind::System),
                                id: actor_id.map(uuid).transpose()?,
                            },
                            from_status: from.as_deref().map(status_from).transpose()?,
                            to_status: status_from(&to)?,
                            changes: serde_json::from_str(&changes).unwrap_or(serde_json::Value::Null),
                            request_id: r.get(8)?,
                            at: timestamp(r.get(9)?)?,
                        })
                    })?
                    .collect()
                })
                .map_err(sql)
            })
            .await
    }
}
