//! The schemas: every migration of each database, applied in order at start; `PRAGMA
//! user_version` counts them.

use cardinal_store::{StoreError, StoreResult};
use rusqlite::Connection;

/// One database's migrations, the name its logs and errors give it, and how durable a commit is.
pub struct Schema {
    pub name: &'static str,
    /// Whether each commit waits for the disk (`synchronous = FULL`): an answered write then
    /// survives power loss. Without, a commit survives the process crashing, and the last ones
    /// before the machine loses power may be undone, never half-done.
    pub synced_commits: bool,
    migrations: &'static [&'static str],
}

/// The main database: organizations, cards, transactions, subscriptions, the outbox.
pub const MAIN: Schema = Schema {
    name: "main",
    synced_commits: true,
    migrations: &[
        include_str!("../migrations/0001_initial.sql"),
        include_str!("../migrations/0002_card_api.sql"),
        include_str!("../migrations/0003_transactions.sql"),
        include_str!("../migrations/0004_card_counts.sql"),
        include_str!("../migrations/0005_webhooks.sql"),
    ],
};

/// The webhook ledger beside it: deliveries and attempts (see its first migration).
///
/// Its commits are not synced. Everything in it follows from the main database's outbox, and
/// what power loss can undo errs on the side "at least once" allows: an expansion undone is
/// made again from the outbox (the cursor is undone with it); an attempt's record undone makes
/// the attempt again. Syncing it too made the card changes' own syncs wait on the same disk.
pub const WEBHOOKS: Schema = Schema {
    name: "webhooks",
    synced_commits: false,
    migrations: &[include_str!("../migrations/webhooks/0001_deliveries.sql")],
};

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Applies the missing migrations, one transaction each; refuses a database newer than this
/// Cardinal. Answers whether the database was new (no migration applied before).
pub(crate) fn migrate(conn: &mut Connection, schema: &Schema) -> StoreResult<bool> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
    if applied > schema.migrations.len() {
        return Err(StoreError::Backend(format!(
            "the {} database is at schema version {applied}, newer than this Cardinal ({})",
            schema.name,
            schema.migrations.len()
        )));
    }
    for (index, sql) in schema.migrations.iter().enumerate().skip(applied) {
        let tx = conn.transaction().map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1)).map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(applied == 0)
}
