//! Card payments, their transactions and the bank account they move.

use std::sync::LazyLock;

use async_trait::async_trait;
use cardinal_domain::DomainError;
use cardinal_store::{
    sql::{columns, transaction_list, Dialect, BANK_ACCOUNT, TRANSACTION_COLUMNS},
    BankAccount, Page, PaymentChange, PaymentStore, StoreResult, StoredCard, Transaction, TransactionChange,
    TransactionQuery, TransactionStatus,
};
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::{
    cards::{load_card_to_write, save_card, Newest},
    rows::{bank_account, seconds, timestamp, uuid},
    run_list, run_page, sql,
    webhooks::write_outbox,
    SqliteStore,
};
pub(crate) static LOAD_ACCOUNT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM bank_accounts b WHERE b.id = ?1", columns("b", BANK_ACCOUNT)));

pub(crate) fn load_account(conn: &Connection, id: Uuid) -> StoreResult<BankAccount> {
    conn.prepare_cached(&LOAD_ACCOUNT)
        .and_then(|mut s| s.query_row([id.to_string()], |r| bank_account(r, "b")))
        .map_err(sql)
}

pub(crate) fn save_account(conn: &Connection, account: &BankAccount) -> StoreResult<()> {
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

pub(crate) static LOAD_TRANSACTION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {TRANSACTION_COLUMNS} FROM transactions t WHERE t.id = ?1 AND (?2 IS NULL OR t.organization_id = ?2)"
    )
});

pub(crate) fn transaction_row(r: &rusqlite::Row) -> rusqlite::Result<Transaction> {
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
        attachment_ids: ids(r.get(24)?)?,
        label_ids: ids(r.get(25)?)?,
    })
}

fn ids(text: String) -> rusqlite::Result<Vec<Uuid>> {
    cardinal_store::ids_of_column(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(24, rusqlite::types::Type::Text, e.into()))
}

pub(crate) fn load_transaction(conn: &Connection, org: Option<Uuid>, id: Uuid) -> StoreResult<Option<Transaction>> {
    conn.prepare_cached(&LOAD_TRANSACTION)
        .and_then(|mut s| s.query_row(params![id.to_string(), org.map(|o| o.to_string())], transaction_row).optional())
        .map_err(sql)
}

pub(crate) fn upsert_transaction(conn: &Connection, t: &Transaction) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO transactions (id, organization_id, bank_account_id, card_id, holder_id, slug, amount_cents, \
         currency, side, operation_type, status, decline_reason, label, category, merchant_country, channel, \
         counted_day, counted_month, card_last_digits, emitted_at, settled_at, settled_balance_cents, created_at, \
         updated_at, attachment_ids, label_ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
         ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26) ON CONFLICT (id) DO UPDATE SET \
         status = excluded.status, settled_at = excluded.settled_at, \
         settled_balance_cents = excluded.settled_balance_cents, updated_at = excluded.updated_at, \
         attachment_ids = excluded.attachment_ids, label_ids = excluded.label_ids",
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
            cardinal_store::ids_column(&t.attachment_ids),
            cardinal_store::ids_column(&t.label_ids),
        ])
    })
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl PaymentStore for SqliteStore {
    async fn pay(&self, org: Uuid, card: Uuid, mut change: PaymentChange) -> StoreResult<(StoredCard, Transaction)> {
        let (cache, read_cache) = (self.cache.clone(), self.cache.clone());
        self.engine
            .write_then(
                move |conn| {
                    // The writer thread is the only writer: nothing changes the card or the account
                    // between this read and the commit, so limits and locks hold under any load.
                    let mut stored = load_card_to_write(conn, &read_cache, org, card)?.ok_or(DomainError::NotFound)?;
                    let mut account = load_account(conn, stored.card.bank_account_id)?;
                    let (transaction, events) = change(&mut stored, &mut account)?;
                    save_card(conn, &mut stored, Newest { transaction: Some(transaction.id), event: None })?;
                    save_account(conn, &account)?;
                    upsert_transaction(conn, &transaction)?;
                    write_outbox(conn, &events)?;
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
        let (cache, read_cache) = (self.cache.clone(), self.cache.clone());
        self.engine
            .write_then(
                move |conn| {
                    let mut transaction = load_transaction(conn, None, id)?.ok_or(DomainError::NotFound)?;
                    let mut stored =
                        load_card_to_write(conn, &read_cache, transaction.organization_id, transaction.card_id)?
                            .ok_or(DomainError::NotFound)?;
                    let mut account = load_account(conn, transaction.bank_account_id)?;
                    let events = change(&mut transaction, &mut stored, &mut account)?;
                    save_card(conn, &mut stored, Newest::default())?;
                    save_account(conn, &account)?;
                    upsert_transaction(conn, &transaction)?;
                    write_outbox(conn, &events)?;
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
        self.engine
            .read(move |conn| match transaction_list(&query, Dialect::Sqlite) {
                statements if query.counted => run_list(conn, statements, transaction_row),
                (_, page) => run_page(conn, page, transaction_row).map(Page::uncounted),
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cardinal_store::sql::transaction_list;
    use cardinal_store::{PageRequest, TransactionQuery, TransactionSortField};

    /// SQLite's plan for `statement`, one line per step.
    fn plan(conn: &Connection, statement: &cardinal_store::sql::Statement) -> String {
        let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {}", statement.text)).unwrap();
        let values = crate::sql_values(&statement.values);
        let steps = explain.query_map(rusqlite::params_from_iter(values.iter()), |r| r.get::<_, String>(3)).unwrap();
        steps.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    /// An account's transaction list must not grow with the account: the count reads the
    /// account's index alone, and a page is read in its order without sorting every row.
    #[test]
    fn transaction_lists_count_from_the_index_and_read_pages_in_order() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        for sort in [TransactionSortField::SettledAt, TransactionSortField::EmittedAt] {
            for descending in [true, false] {
                let page = PageRequest { page: 1, per_page: 20 };
                let query = TransactionQuery::of_account(Uuid::new_v4(), Uuid::new_v4(), sort, descending, page);
                let (count, page) = transaction_list(&query, cardinal_store::sql::Dialect::Sqlite);
                let (count, page) = (plan(&conn, &count), plan(&conn, &page));
                assert!(count.contains("COVERING INDEX"), "{sort:?}: the count reads rows: {count}");
                assert!(!page.contains("TEMP B-TREE"), "{sort:?} descending={descending}: the page sorts: {page}");
            }
        }
    }

    /// A card's row keeps its newest transactions' ids, newest first, as a JSON array: from
    /// none, through a short list, to more than it keeps.
    #[test]
    fn a_card_keeps_its_newest_transaction_ids() {
        use crate::cards::recent_transactions_with;
        use cardinal_store::RECENT_CARD_TRANSACTIONS;
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE cards (id TEXT PRIMARY KEY, recent_transactions TEXT NOT NULL DEFAULT '[]')")
            .unwrap();
        let card = Uuid::new_v4();
        conn.execute("INSERT INTO cards (id) VALUES (?1)", [card.to_string()]).unwrap();
        let mut made: Vec<String> = Vec::new();
        for n in 1..=RECENT_CARD_TRANSACTIONS + 5 {
            let id = Uuid::new_v4();
            let remember =
                format!("UPDATE cards SET recent_transactions = {} WHERE id = ?2", recent_transactions_with("?1"));
            conn.execute(&remember, [id.to_string(), card.to_string()]).unwrap();
            made.insert(0, id.to_string());
            let kept: String = conn.query_row("SELECT recent_transactions FROM cards", [], |r| r.get(0)).unwrap();
            let kept: Vec<String> = serde_json::from_str(&kept).unwrap();
            assert_eq!(kept, made[..n.min(RECENT_CARD_TRANSACTIONS)], "after {n}");
        }
    }

    /// A card's newest transactions (the console's card page) are read by the ids its row
    /// keeps, not by walking its account's transactions until a page of the card's is found.
    #[test]
    fn a_cards_transactions_are_read_through_the_cards_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::migrations::migrate(&mut conn).unwrap();
        let page = PageRequest { page: 1, per_page: 20 };
        let query = TransactionQuery {
            card_id: Some(Uuid::new_v4()),
            counted: false,
            ..TransactionQuery::of_account(Uuid::new_v4(), Uuid::new_v4(), TransactionSortField::EmittedAt, true, page)
        };
        let (_, page) = transaction_list(&query, cardinal_store::sql::Dialect::Sqlite);
        let page = plan(&conn, &page);
        assert!(page.contains("sqlite_autoindex_transactions_1 (id=?)"), "{page}");
        assert!(!page.contains("transactions_by_account"), "{page}");
    }
}
