//! The list queries both SQL backends share: filters, visibility, sorting and paging of cards
//! and transactions, written once. The SQL is portable (SQLite, PostgreSQL and the
//! PostgreSQL-compatible distributed engines); only the placeholder style differs.

use crate::{CardQuery, CardSortField, ClockChange, TransactionQuery, TransactionSortField, Visibility};
use uuid::Uuid;

/// Column list for an aliased table, so joined rows can be read by prefixed names.
pub fn columns(alias: &str, names: &[&str]) -> String {
    names.iter().map(|n| format!("{alias}.{n} AS {alias}_{n}")).collect::<Vec<_>>().join(", ")
}

pub const OAUTH_CLIENT: &[&str] = &["id", "name", "secret_hash", "redirect_uris", "created_at"];
/// A grant's columns; a code has the same consent columns ([`OAUTH_CONSENT`]).
pub const OAUTH_GRANT: &[&str] = &[
    "id",
    "client_id",
    "organization_id",
    "membership_id",
    "scopes",
    "auth_time",
    "nonce",
    "created_at",
    "revoked_at",
];
pub const OAUTH_CONSENT: &[&str] = &["client_id", "organization_id", "membership_id", "scopes", "auth_time", "nonce"];

pub const ORGANIZATION: &[&str] =
    &["id", "slug", "legal_name", "locale", "timezone", "country", "sca_mode", "clock_offset_seconds", "created_at"];
pub const MEMBERSHIP: &[&str] =
    &["id", "organization_id", "first_name", "last_name", "email", "role", "status", "team_id", "locale", "created_at"];
pub const BANK_ACCOUNT: &[&str] = &[
    "id",
    "organization_id",
    "name",
    "status",
    "main",
    "iban",
    "bic",
    "currency",
    "balance_cents",
    "authorized_balance_cents",
    "created_at",
    "updated_at",
];
pub const CREDENTIAL: &[&str] = &["id", "kind", "secret_hash", "scopes", "expires_at", "revoked_at", "grant_id"];

/// The copies of a card's fields kept beside its JSON document for filtering and sorting,
/// computed in one place for every backend.
#[derive(Debug, Clone, PartialEq)]
pub struct CardIndex {
    pub level: &'static str,
    pub base_status: &'static str,
    pub terminal: bool,
    pub expires_at: i64,
    pub pre_expires_at: Option<i64>,
    pub nickname: String,
    pub last_activity_at: Option<i64>,
    pub search_text: String,
    /// The card document (the storage format of `cardinal_domain::Card`).
    pub data: String,
}

impl CardIndex {
    pub fn of(stored: &crate::StoredCard) -> Result<CardIndex, crate::StoreError> {
        let c = &stored.card;
        Ok(CardIndex {
            level: c.level.as_str(),
            base_status: c.status_ignoring_expiry().as_str(),
            terminal: c.lifecycle.is_terminal(),
            expires_at: c.expires_at.as_second(),
            pre_expires_at: c.pre_expires_at.map(|t| t.as_second()),
            nickname: c.nickname.clone(),
            last_activity_at: c.last_activity_at.map(|t| t.as_second()),
            search_text: stored.search_text(),
            data: crate::documents::document_of(c).map_err(|e| crate::StoreError::Backend(e.to_string()))?,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `?1, ?2, …`
    Sqlite,
    /// `$1, $2, …`
    Postgres,
}

/// A bound value; each backend converts it to its driver's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
    NullText,
}

/// A statement's text and its values, in placeholder order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub text: String,
    pub values: Vec<SqlValue>,
    /// The most rows it returns (a page's `LIMIT`; 1 for a count): a reader sizes the rows'
    /// vector once. Grown by doubling, a page of 100 cards was copied seven times over.
    pub rows: usize,
}

struct Binder {
    dialect: Dialect,
    values: Vec<SqlValue>,
}

impl Binder {
    fn bind(&mut self, value: SqlValue) -> String {
        self.values.push(value);
        match self.dialect {
            Dialect::Sqlite => format!("?{}", self.values.len()),
            Dialect::Postgres => format!("${}", self.values.len()),
        }
    }

    fn text(&mut self, value: impl Into<String>) -> String {
        self.bind(SqlValue::Text(value.into()))
    }

    fn uuid(&mut self, id: Uuid) -> String {
        self.text(id.to_string())
    }

    /// `column IN (…)` for a non-empty list; nothing for an empty one.
    fn any_of(&mut self, clauses: &mut Vec<String>, column: &str, items: Vec<String>) {
        if items.is_empty() {
            return;
        }
        let placeholders: Vec<String> = items.into_iter().map(|i| self.text(i)).collect();
        clauses.push(format!("{column} IN ({})", placeholders.join(", ")));
    }

    fn visibility(&mut self, clauses: &mut Vec<String>, holder_column: &str, visibility: &Visibility) {
        match visibility {
            Visibility::All => {}
            Visibility::Nothing => clauses.push("1 = 0".into()),
            Visibility::HeldBy(member) => {
                let p = self.uuid(*member);
                clauses.push(format!("{holder_column} = {p}"));
            }
            Visibility::HeldByOrTeam(member, team) => {
                let p = self.uuid(*member);
                let t = match team {
                    Some(team) => self.uuid(*team),
                    None => self.bind(SqlValue::NullText),
                };
                clauses.push(format!("({holder_column} = {p} OR h.team_id = {t})"));
            }
        }
    }
}

/// The columns a card read selects: the card's id and document plus its holder's fields.
/// Every card query starts its SELECT with them, so a backend may read them by position
/// (0 to 4, in this order), faster than by name.
pub const CARD_SELECT: &str = "c.id AS c_id, c.data AS c_data, h.first_name AS h_first_name, \
     h.last_name AS h_last_name, h.team_id AS h_team_id";
pub const CARD_FROM: &str = "FROM cards c JOIN memberships h ON h.id = c.holder_id";

/// A card's `status` at the clock instant `now`: the rule of `Card::status`, with the lock part
/// folded into the stored `base_status` and expiry derived here.
pub fn card_status(now: i64) -> String {
    format!(
        "(CASE WHEN NOT c.terminal AND c.pre_expires_at IS NOT NULL AND c.pre_expires_at <= {now} \
         THEN 'pre_expired' WHEN NOT c.terminal AND c.expires_at <= {now} THEN 'expired' \
         ELSE c.base_status END)"
    )
}

/// Whether a card list filters on its search text, which no count group has.
fn searches(q: &CardQuery) -> bool {
    q.search.as_deref().is_some_and(|s| !s.is_empty())
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// How a backend counts the cards of a list (`meta.total_count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardCounting {
    /// Reads every matching card.
    Scan,
    /// Sums a `card_counts` table that has the columns the filters use (organization, holder,
    /// account, level, base status, terminal, expiry instants) and a count `n` per group,
    /// whenever the list filters on nothing else (no ids, no search).
    Groups,
}

/// `(count, page)` statements for a card list, counting by reading the matching cards.
pub fn card_list(q: &CardQuery, dialect: Dialect) -> (Statement, Statement) {
    card_list_counted(q, dialect, CardCounting::Scan, CARD_SELECT)
}

/// `(count, page)` statements for a card list, counting as `counting` says; the page selects
/// `select` ([`CARD_SELECT`] for whole cards), from [`CARD_FROM`] when it names the holder's
/// columns (`h.`) or the list filters by team, else from the cards alone.
pub fn card_list_counted(
    q: &CardQuery,
    dialect: Dialect,
    counting: CardCounting,
    select: &str,
) -> (Statement, Statement) {
    let mut b = Binder { dialect, values: Vec::new() };
    let now = q.now.as_second();
    let status = card_status(now);
    let mut clauses = vec![format!("c.organization_id = {}", b.uuid(q.organization_id))];
    b.visibility(&mut clauses, "c.holder_id", &q.visibility);
    b.any_of(&mut clauses, "c.holder_id", q.holder_ids.iter().map(Uuid::to_string).collect());
    b.any_of(&mut clauses, "c.bank_account_id", q.bank_account_ids.iter().map(Uuid::to_string).collect());
    b.any_of(&mut clauses, "c.id", q.ids.iter().map(Uuid::to_string).collect());
    b.any_of(&mut clauses, "c.card_level", q.levels.iter().map(|l| l.as_str().to_owned()).collect());
    b.any_of(&mut clauses, &status, q.statuses.iter().map(|s| s.as_str().to_owned()).collect());
    if let (true, Some(search)) = (searches(q), q.search.as_deref()) {
        let pattern = b.text(format!("%{}%", escape_like(&search.to_lowercase())));
        clauses.push(format!("(c.search_text LIKE {pattern} ESCAPE '\\' OR {status} LIKE {pattern} ESCAPE '\\')"));
    }
    let filter = clauses.join(" AND ");
    let by_groups = counting == CardCounting::Groups && q.ids.is_empty() && !searches(q);
    // The filter names only columns both tables share, so it applies to groups unchanged.
    let count = match by_groups {
        true => format!(
            "SELECT COALESCE(SUM(c.n), 0) FROM card_counts c JOIN memberships h ON h.id = c.holder_id WHERE {filter}"
        ),
        false => format!("SELECT count(*) {CARD_FROM} WHERE {filter}"),
    };
    let count = Statement { text: count, values: b.values.clone(), rows: 1 };
    let direction = if q.descending { "DESC" } else { "ASC" };
    let key = match q.sort {
        CardSortField::Status => status,
        CardSortField::Nickname => "c.nickname".into(),
        // A card that never paid shows (and sorts by) its creation time (spec §2.1).
        CardSortField::LastActivityAt => "COALESCE(c.last_activity_at, c.created_at)".into(),
        CardSortField::CreatedAt => "c.created_at".into(),
    };
    let limit = b.bind(SqlValue::Int(i64::from(q.page.per_page)));
    let offset = b.bind(SqlValue::Int(q.page.offset().min(i64::MAX as u64) as i64));
    // Without holder columns or a filter by team (the one clause that names `h.`), the holder's
    // row adds nothing: every card has one (a foreign key), and finding it for each row was a
    // sixth of the reads of a page of ids.
    let from = match select.contains("h.") || matches!(q.visibility, Visibility::HeldByOrTeam(..)) {
        true => CARD_FROM,
        false => "FROM cards c",
    };
    let page = Statement {
        text: format!(
            "SELECT {select} {from} WHERE {filter} \
             ORDER BY {key} {direction} NULLS LAST, c.id {direction} LIMIT {limit} OFFSET {offset}"
        ),
        values: b.values,
        rows: q.page.per_page as usize,
    };
    (count, page)
}

/// `(count, page)` statements listing an organization's rows of `table`, oldest first.
pub fn organization_rows(
    table: &str,
    alias: &str,
    names: &[&str],
    organization_id: Uuid,
    page: crate::PageRequest,
    dialect: Dialect,
) -> (Statement, Statement) {
    rows_page(table, alias, names, Some(organization_id), page, dialect)
}

/// A page of every row of `table` (operator views across organizations), oldest first.
pub fn all_rows(
    table: &str,
    alias: &str,
    names: &[&str],
    page: crate::PageRequest,
    dialect: Dialect,
) -> (Statement, Statement) {
    rows_page(table, alias, names, None, page, dialect)
}

fn rows_page(
    table: &str,
    alias: &str,
    names: &[&str],
    organization_id: Option<Uuid>,
    page: crate::PageRequest,
    dialect: Dialect,
) -> (Statement, Statement) {
    let mut b = Binder { dialect, values: Vec::new() };
    let filter = match organization_id {
        Some(id) => format!("WHERE {alias}.organization_id = {}", b.uuid(id)),
        None => String::new(),
    };
    let count =
        Statement { text: format!("SELECT count(*) FROM {table} {alias} {filter}"), values: b.values.clone(), rows: 1 };
    let limit = b.bind(SqlValue::Int(i64::from(page.per_page)));
    let offset = b.bind(SqlValue::Int(page.offset().min(i64::MAX as u64) as i64));
    let page = Statement {
        text: format!(
            "SELECT {} FROM {table} {alias} {filter} ORDER BY {alias}.created_at, {alias}.id LIMIT {limit} OFFSET {offset}",
            columns(alias, names)
        ),
        values: b.values,
        rows: page.per_page as usize,
    };
    (count, page)
}

/// SCA sessions waiting for an answer and not expired (by the server's clock); `?1`/`$1` is now.
pub const GAUGE_SCA: &str =
    "SELECT count(*) FROM sca_sessions WHERE result = 'waiting' AND consumed_at IS NULL AND expires_at > ?1";
/// Webhook deliveries still to make.
pub const GAUGE_DELIVERIES: &str = "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'";

/// The settings key of an organization's snapshot ([`crate::OrganizationSeed::snapshot`]).
pub fn snapshot_key(organization_id: Uuid) -> String {
    format!("organization_snapshot:{organization_id}")
}

/// What a sandbox reset deletes, in order, each with the organization's id as its only
/// parameter (`{org}`). Transactions go first: SQLite's have no foreign key to their card
/// (migration 0014), nor have its audit events (0016), which go next, by organization. On
/// PostgreSQL cards cascade to their audit events; on both to their data-view links, and
/// webhook events to their deliveries and attempts.
pub fn reset_deletions(dialect: Dialect) -> impl Iterator<Item = &'static str> {
    let sqlite_events = (dialect == Dialect::Sqlite).then_some("DELETE FROM card_events WHERE organization_id = {org}");
    let transactions = "DELETE FROM transactions WHERE organization_id = {org}";
    std::iter::once(transactions).chain(sqlite_events).chain([
        "DELETE FROM cards WHERE organization_id = {org}",
        "DELETE FROM sca_sessions WHERE organization_id = {org}",
        "DELETE FROM webhook_deliveries WHERE organization_id = {org}",
        "DELETE FROM webhook_events WHERE organization_id = {org}",
    ])
}

pub const TRANSACTION_COLUMNS: &str = "t.id, t.organization_id, t.bank_account_id, t.card_id, t.holder_id, t.slug, \
     t.amount_cents, t.currency, t.side, t.operation_type, t.status, t.decline_reason, t.label, t.category, \
     t.merchant_country, t.channel, t.counted_day, t.counted_month, t.card_last_digits, t.emitted_at, t.settled_at, \
     t.settled_balance_cents, t.created_at, t.updated_at, t.attachment_ids, t.label_ids";
/// The holders are joined only when a team's visibility needs their team: every transaction
/// has its holder (a foreign key), so the join drops nothing, and without it a count reads
/// the account's index alone instead of looking up a member per transaction.
const TRANSACTION_FROM: &str = "FROM transactions t";
const TRANSACTION_FROM_WITH_HOLDERS: &str = "FROM transactions t JOIN memberships h ON h.id = t.holder_id";

/// `(count, page)` statements for a transaction list.
pub fn transaction_list(q: &TransactionQuery, dialect: Dialect) -> (Statement, Statement) {
    let mut b = Binder { dialect, values: Vec::new() };
    // A card's transactions are a few of its account's: read them by their ids. SQLite has no
    // statistics and would walk the account's index instead, looking up every transaction of
    // the account until it found a page of the card's: 7 ms for a card with 58 of 60,000. A
    // unary `+` keeps a column out of index choices; PostgreSQL, which has statistics, has no
    // such operator on text.
    let unindexed = if q.card_id.is_some() && dialect == Dialect::Sqlite { "+" } else { "" };
    // The account is the organization's or nothing matches: every transaction of an account
    // is its organization's, so the account's indexes leave the organization out (36 bytes
    // narrower an entry, less to write with every payment), and the organization is checked
    // once, on the account, instead of on every row.
    let (account, organization) = (b.uuid(q.bank_account_id), b.uuid(q.organization_id));
    let mut clauses = vec![format!(
        "{unindexed}t.bank_account_id = (SELECT a.id FROM bank_accounts a WHERE a.id = {account} \
         AND a.organization_id = {organization})"
    )];
    if let Some(card) = q.card_id {
        let card = b.uuid(card);
        let most = crate::RECENT_CARD_TRANSACTIONS;
        clauses.push(match dialect {
            // The ids the card's row keeps, newest first (SQLite has no index by card).
            Dialect::Sqlite => format!(
                "t.id IN (SELECT value FROM json_each((SELECT c.recent_transactions FROM cards c WHERE c.id = {card})))"
            ),
            Dialect::Postgres => format!(
                "t.id IN (SELECT r.id FROM transactions r WHERE r.card_id = {card} \
                 ORDER BY r.emitted_at DESC, r.id DESC LIMIT {most})"
            ),
        });
    }
    b.visibility(&mut clauses, "t.holder_id", &q.visibility);
    b.any_of(&mut clauses, "t.status", q.statuses.iter().map(|s| s.as_str().to_owned()).collect());
    b.any_of(&mut clauses, "t.operation_type", q.operation_types.clone());
    b.any_of(&mut clauses, "t.side", q.side.iter().cloned().collect());
    for (column, range) in [
        ("t.settled_at", q.settled_at),
        ("t.updated_at", q.updated_at),
        ("t.emitted_at", q.emitted_at),
        ("t.created_at", q.created_at),
    ] {
        if let Some(from) = range.from {
            let p = b.bind(SqlValue::Int(from.as_second()));
            clauses.push(format!("{column} >= {p}"));
        }
        if let Some(to) = range.to {
            let p = b.bind(SqlValue::Int(to.as_second()));
            clauses.push(format!("{column} <= {p}"));
        }
    }
    // The id list is written with every attachment and removal: `[]` means none.
    match q.with_attachments {
        Some(true) => clauses.push("t.attachment_ids <> '[]'".into()),
        Some(false) => clauses.push("t.attachment_ids = '[]'".into()),
        None => {}
    }
    let filter = clauses.join(" AND ");
    let from = match q.visibility {
        Visibility::HeldByOrTeam(..) => TRANSACTION_FROM_WITH_HOLDERS,
        _ => TRANSACTION_FROM,
    };
    let count = Statement { text: format!("SELECT count(*) {from} WHERE {filter}"), values: b.values.clone(), rows: 1 };
    // Unsettled transactions have no settled_at: they count as the most recent. The other
    // columns are never null, and saying nothing of nulls lets an index give their order.
    let direction = if q.descending { "DESC" } else { "ASC" };
    let nulls = if q.descending { "NULLS FIRST" } else { "NULLS LAST" };
    let order = match q.sort {
        TransactionSortField::SettledAt => format!("t.settled_at {direction} {nulls}, t.emitted_at {direction}"),
        TransactionSortField::UpdatedAt => format!("t.updated_at {direction}, t.emitted_at {direction}"),
        TransactionSortField::EmittedAt => format!("t.emitted_at {direction}"),
        TransactionSortField::CreatedAt => format!("t.created_at {direction}, t.emitted_at {direction}"),
    };
    let limit = b.bind(SqlValue::Int(i64::from(q.page.per_page)));
    let offset = b.bind(SqlValue::Int(q.page.offset().min(i64::MAX as u64) as i64));
    let page = Statement {
        text: format!(
            "SELECT {TRANSACTION_COLUMNS} {from} WHERE {filter} \
             ORDER BY {order}, t.id {direction} LIMIT {limit} OFFSET {offset}"
        ),
        values: b.values,
        rows: q.page.per_page as usize,
    };
    (count, page)
}

/// A card request's columns, read by position: its JSON document.
pub const REQUEST_COLUMNS: &str = "r.data";
const REQUEST_FROM: &str = "FROM card_requests r JOIN memberships h ON h.id = r.initiator_id";

/// The count and the page of a card-request list.
pub fn request_list(q: &crate::RequestQuery, dialect: Dialect) -> (Statement, Statement) {
    let mut b = Binder { dialect, values: Vec::new() };
    let mut clauses = vec![format!("r.organization_id = {}", b.uuid(q.organization_id))];
    b.visibility(&mut clauses, "r.initiator_id", &q.visibility);
    b.any_of(&mut clauses, "r.status", q.statuses.iter().map(|s| s.as_str().to_owned()).collect());
    b.any_of(&mut clauses, "r.request_type", q.types.iter().map(|t| t.as_str().to_owned()).collect());
    for (column, from) in [("r.created_at", q.created_from), ("r.processed_at", q.processed_from)] {
        if let Some(from) = from {
            let p = b.bind(SqlValue::Int(from.as_second()));
            clauses.push(format!("{column} >= {p}"));
        }
    }
    let filter = clauses.join(" AND ");
    let count =
        Statement { text: format!("SELECT count(*) {REQUEST_FROM} WHERE {filter}"), values: b.values.clone(), rows: 1 };
    let direction = if q.descending { "DESC" } else { "ASC" };
    // Qonto's status order: pending, approved, declined, canceled.
    let column = match q.sort {
        crate::RequestSort::CreatedAt => "r.created_at".to_owned(),
        crate::RequestSort::ProcessedAt => "r.processed_at".to_owned(),
        crate::RequestSort::Status => "CASE r.status WHEN 'pending' THEN 0 WHEN 'approved' THEN 1 \
             WHEN 'declined' THEN 2 ELSE 3 END"
            .to_owned(),
    };
    let limit = b.bind(SqlValue::Int(i64::from(q.page.per_page)));
    let offset = b.bind(SqlValue::Int(q.page.offset().min(i64::MAX as u64) as i64));
    let page = Statement {
        text: format!(
            "SELECT {REQUEST_COLUMNS} {REQUEST_FROM} WHERE {filter} \
             ORDER BY {column} {direction}, r.created_at {direction}, r.id {direction} LIMIT {limit} OFFSET {offset}"
        ),
        values: b.values,
        rows: q.page.per_page as usize,
    };
    (count, page)
}

/// The SQL of a clock change lives with the other statements.
impl ClockChange {
    /// The statement that applies the change, in `dialect`'s placeholders: `1` is the
    /// organization's id, `2` the seconds.
    pub fn statement(self, dialect: Dialect) -> &'static str {
        use Dialect::*;
        match (self, dialect) {
            (ClockChange::By(_), Sqlite) => {
                "UPDATE organizations SET clock_offset_seconds = clock_offset_seconds + ?2 WHERE id = ?1"
            }
            (ClockChange::By(_), Postgres) => {
                "UPDATE organizations SET clock_offset_seconds = clock_offset_seconds + $2 WHERE id = $1"
            }
            (ClockChange::ToAtLeast(_), Sqlite) => {
                "UPDATE organizations SET clock_offset_seconds = ?2 WHERE id = ?1 AND clock_offset_seconds <= ?2"
            }
            (ClockChange::ToAtLeast(_), Postgres) => {
                "UPDATE organizations SET clock_offset_seconds = $2 WHERE id = $1 AND clock_offset_seconds <= $2"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_dialect() {
        let q = CardQuery::all(Uuid::nil(), jiff::Timestamp::UNIX_EPOCH);
        let (_, sqlite) = card_list(&q, Dialect::Sqlite);
        let (_, postgres) = card_list(&q, Dialect::Postgres);
        assert!(sqlite.text.contains("?1") && sqlite.text.contains("LIMIT ?2 OFFSET ?3"), "{}", sqlite.text);
        assert!(postgres.text.contains("$1") && postgres.text.contains("LIMIT $2 OFFSET $3"), "{}", postgres.text);
        assert_eq!(sqlite.values, postgres.values);
    }
}
