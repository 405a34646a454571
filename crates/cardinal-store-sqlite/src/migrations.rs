//! The schema: every migration, applied in order at start; `PRAGMA user_version` counts them.

use cardinal_store::{StoreError, StoreResult};
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_card_api.sql"),
    include_str!("../migrations/0003_transactions.sql"),
    include_str!("../migrations/0004_card_counts.sql"),
    include_str!("../migrations/0005_webhooks.sql"),
    include_str!("../migrations/0006_webhook_health.sql"),
    include_str!("../migrations/0007_oauth.sql"),
    include_str!("../migrations/0008_console.sql"),
    include_str!("../migrations/0009_card_requests.sql"),
    include_str!("../migrations/0010_receipts.sql"),
    include_str!("../migrations/0011_transaction_lists.sql"),
    include_str!("../migrations/0012_idempotency_claims.sql"),
    include_str!("../migrations/0013_card_counts_without_temp_tables.sql"),
    include_str!("../migrations/0014_payments_write_fewer_pages.sql"),
    include_str!("../migrations/0015_card_versions.sql"),
    include_str!("../migrations/0016_card_events_chained.sql"),
];

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Applies the missing migrations, one transaction each; refuses a database newer than this
/// Cardinal.
pub(crate) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
    if applied > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database is at schema version {applied}, newer than this Cardinal ({})",
            MIGRATIONS.len()
        )));
    }
    // Foreign keys are off while a migration runs, as SQLite's way of rebuilding a table asks
    // (dropping the old table must not cascade into its children), and checked before it
    // commits. The setting cannot change inside a transaction, hence around it.
    let enforced: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).map_err(backend)?;
    conn.execute_batch("PRAGMA foreign_keys = OFF").map_err(backend)?;
    let migrated = apply(conn, applied);
    conn.execute_batch(&format!("PRAGMA foreign_keys = {}", if enforced { "ON" } else { "OFF" })).map_err(backend)?;
    migrated
}

/// Rows whose foreign key names no row.
fn orphans(conn: &Connection) -> StoreResult<i64> {
    conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).map_err(backend)
}

/// Applies the migrations after the first `applied`, one transaction each.
fn apply(conn: &mut Connection, applied: usize) -> StoreResult<()> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        // Upgrading a database (not making a new one) may rebuild a large table, which takes
        // seconds: the log says what the start is waiting on.
        let started = std::time::Instant::now();
        if applied > 0 {
            tracing::info!(migration = index + 1, of = MIGRATIONS.len(), "applying a schema migration");
        }
        let tx = conn.transaction().map_err(backend)?;
        // A rebuild (a table dropped and made again) is checked: it must leave no row without
        // its parent that was not so before. The check reads every table, so only then.
        let rebuilds = sql.contains("DROP TABLE");
        let orphans_before = if rebuilds { orphans(&tx)? } else { 0 };
        tx.execute_batch(sql).map_err(backend)?;
        if rebuilds && orphans(&tx)? > orphans_before {
            return Err(StoreError::Backend(format!(
                "migration {} would leave rows without their parent; nothing was changed",
                index + 1
            )));
        }
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1)).map_err(backend)?;
        tx.commit().map_err(backend)?;
        if applied > 0 {
            tracing::info!(
                migration = index + 1,
                ms = started.elapsed().as_millis() as u64,
                "schema migration applied"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The groups `card_counts` holds (empty ones left out), and the same groups counted from
    /// the cards themselves.
    fn counts_and_truth(conn: &Connection) -> (Vec<String>, Vec<String>) {
        let group = "organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, \
                     ifnull(pre_expires_at, 'none')";
        let rows = |sql: &str| -> Vec<String> {
            let mut statement = conn.prepare(sql).unwrap();
            let rows = statement.query_map([], |r| r.get::<_, String>(0)).unwrap();
            rows.map(Result::unwrap).collect()
        };
        let kept = rows(&format!("SELECT concat_ws('|', {group}, n) FROM card_counts WHERE n > 0 ORDER BY 1"));
        let truth = rows(&format!("SELECT concat_ws('|', {group}, count(*)) FROM cards GROUP BY {group} ORDER BY 1"));
        (kept, truth)
    }

    fn insert_card(conn: &Connection, id: usize, holder: usize, status: &str, pre_expires: Option<i64>) {
        conn.execute(
            "INSERT INTO cards (id, organization_id, holder_id, bank_account_id, card_level, base_status, terminal, \
             expires_at, pre_expires_at, nickname, created_at, search_text, data, pan_ciphertext, cvv_ciphertext, \
             pan_fingerprint) VALUES (?1, 'org', ?2, 'account', 'standard', ?3, 0, 100, ?4, '', 0, '', '{}', x'00', \
             x'00', ?5)",
            rusqlite::params![format!("card-{id}"), format!("holder-{holder}"), status, pre_expires, id.to_le_bytes()],
        )
        .unwrap();
    }

    /// The schema as the first `version` migrations left it, as an older Cardinal would have.
    fn migrate_only_to(conn: &Connection, version: usize) {
        for (index, sql) in MIGRATIONS[..version].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.execute_batch(&format!("PRAGMA user_version = {}", index + 1)).unwrap();
        }
    }

    /// Migration 0014 rebuilt the transactions table: its rows, their attachments (which
    /// cascade from it) and the card's newest ids are all there after it.
    #[test]
    fn the_transactions_rebuild_keeps_every_row_and_attachment() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        migrate_only_to(&conn, 13);
        insert_card(&conn, 1, 1, "live", None);
        for (n, emitted) in [("t-old", 10), ("t-new", 20)] {
            conn.execute(
                "INSERT INTO transactions (id, organization_id, bank_account_id, card_id, holder_id, slug, amount_cents, \
                 currency, side, operation_type, status, label, category, merchant_country, channel, card_last_digits, \
                 emitted_at, created_at, updated_at) VALUES (?1, 'org', 'account', 'card-1', 'holder-1', ?1, 100, 'EUR', \
                 'debit', 'card', 'completed', 'shop', 'other', 'FRA', 'pos', '1234', ?2, ?2, ?2)",
                rusqlite::params![n, emitted],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO attachments (id, organization_id, transaction_id, uploaded_by, file_name, content_type, \
             file_size, created_at, content) VALUES ('a-1', 'org', 't-new', 'm', 'r.pdf', 'application/pdf', 1, 0, x'00')",
            [],
        )
        .unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        migrate(&mut conn).unwrap();
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT count(*) FROM transactions"), 2);
        assert_eq!(count("SELECT count(*) FROM attachments WHERE transaction_id = 't-new'"), 1, "no cascade");
        assert_eq!(count("SELECT count(*) FROM sqlite_schema WHERE name = 'transactions_by_card'"), 0);
        let recent: String = conn.query_row("SELECT recent_transactions FROM cards", [], |r| r.get(0)).unwrap();
        assert_eq!(recent, r#"["t-new","t-old"]"#);
        assert_eq!(count("SELECT version FROM cards"), 0, "a card from before 0015 has saved no version yet");
        assert!(conn.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, bool>(0)).unwrap(), "enforced again");
        conn.execute("DELETE FROM transactions WHERE id = 't-new'", []).unwrap();
        assert_eq!(count("SELECT count(*) FROM attachments"), 0, "attachments still cascade from transactions");
    }

    /// Migration 0013 rewrote the counting triggers: counts kept by the old ones carry on, and
    /// the new ones keep every group exact through inserts, changes and deletes — groups that
    /// exist, new groups, groups emptied and filled again, and a NULL in a group's columns.
    #[test]
    fn card_counts_stay_exact_across_the_trigger_rewrite() {
        let mut conn = Connection::open_in_memory().unwrap();
        // Cards of organizations, holders and accounts the test does not make.
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        migrate_only_to(&conn, 12);
        for id in 0..6 {
            insert_card(&conn, id, id % 2, "live", None);
        }
        migrate(&mut conn).unwrap();
        for id in 6..20 {
            insert_card(&conn, id, id % 3, if id % 4 == 0 { "pending" } else { "live" }, (id % 5 == 0).then_some(50));
        }
        let (kept, truth) = counts_and_truth(&conn);
        assert_eq!(kept, truth);

        let changes = [
            "UPDATE cards SET base_status = 'paused' WHERE id IN ('card-1', 'card-7', 'card-10')",
            "UPDATE cards SET base_status = 'live' WHERE id = 'card-7'",
            "UPDATE cards SET pre_expires_at = NULL WHERE id = 'card-10'",
            "UPDATE cards SET pre_expires_at = 60, card_level = 'plus' WHERE id = 'card-3'",
            "UPDATE cards SET nickname = 'no group changes' WHERE id = 'card-4'",
            "UPDATE cards SET base_status = 'discarded', terminal = 1 WHERE holder_id = 'holder-2'",
            "DELETE FROM cards WHERE id IN ('card-0', 'card-3')",
            "UPDATE cards SET base_status = 'live', terminal = 0 WHERE id = 'card-8'",
        ];
        for change in changes {
            conn.execute(change, []).unwrap();
            let (kept, truth) = counts_and_truth(&conn);
            assert_eq!(kept, truth, "after {change}");
        }
        insert_card(&conn, 0, 0, "live", None);
        let (kept, truth) = counts_and_truth(&conn);
        assert_eq!(kept, truth, "a group emptied and filled again");
    }

    /// Migration 0016 chained each card's events: every event is there with its organization,
    /// each card's history reads back newest first as the index by card gave it, and the
    /// organization's deletion still takes its events.
    #[test]
    fn the_events_rebuild_chains_each_cards_history() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        migrate_only_to(&conn, 15);
        conn.execute(
            "INSERT INTO organizations (id, slug, legal_name, locale, timezone, country, sca_mode, created_at) \
             VALUES ('org', 'org', 'Org', 'en', 'UTC', 'FR', 'mock', 0)",
            [],
        )
        .unwrap();
        insert_card(&conn, 1, 1, "live", None);
        insert_card(&conn, 2, 1, "live", None);
        insert_card(&conn, 3, 1, "live", None);
        // Two cards' events interleaved, as changes to several cards are.
        for (event, card) in [("e1", 1), ("e2", 2), ("e3", 1), ("e4", 1), ("e5", 2)] {
            conn.execute(
                "INSERT INTO card_events (id, card_id, action, actor_type, to_status, changes, request_id, at) \
                 VALUES (?1, ?2, 'lock', 'member', 'locked', '{}', 'r', 0)",
                rusqlite::params![event, format!("card-{card}")],
            )
            .unwrap();
        }
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        migrate(&mut conn).unwrap();
        let history = |card: &str, newest: i64| -> Vec<String> {
            let mut statement = conn.prepare(crate::card_events::CARD_EVENTS_NEWEST_FIRST).unwrap();
            let rows = statement.query_map(rusqlite::params![card, "org", newest], |r| r.get::<_, String>(0)).unwrap();
            rows.map(Result::unwrap).collect()
        };
        assert_eq!(history("card-1", -1), ["e4", "e3", "e1"]);
        assert_eq!(history("card-1", 2), ["e4", "e3"]);
        assert_eq!(history("card-1", 0), Vec::<String>::new());
        assert_eq!(history("card-2", -1), ["e5", "e2"]);
        assert_eq!(history("card-3", -1), Vec::<String>::new(), "a card without events");
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(count("SELECT count(*) FROM card_events WHERE organization_id = 'org'"), 5);
        assert_eq!(count("SELECT count(*) FROM sqlite_schema WHERE name = 'card_events_by_card'"), 0);
        conn.execute("DELETE FROM organizations WHERE id = 'org'", []).unwrap();
        assert_eq!(count("SELECT count(*) FROM card_events"), 0, "events cascade from their organization");
    }
}
