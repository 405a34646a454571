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
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction().map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1)).map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}
