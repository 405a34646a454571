//! The schema: migrations applied at start, safe for processes starting together.

use cardinal_store::{StoreError, StoreResult};

use crate::{backoff, pg, PostgresStore};
/// Every migration, in order; `cardinal_schema.version` says how many are applied.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_webhooks.sql"),
    include_str!("../migrations/0003_webhook_health.sql"),
    include_str!("../migrations/0004_oauth.sql"),
    include_str!("../migrations/0005_console.sql"),
    include_str!("../migrations/0006_card_requests.sql"),
    include_str!("../migrations/0007_receipts.sql"),
    include_str!("../migrations/0008_transaction_lists.sql"),
    include_str!("../migrations/0009_idempotency_claims.sql"),
    include_str!("../migrations/0010_account_indexes_without_organization.sql"),
];

impl PostgresStore {
    /// Applies missing migrations, one transaction each, serialized by the schema row's lock.
    pub(crate) async fn migrate(&self) -> StoreResult<()> {
        self.create_schema_table().await?;
        for (index, sql) in MIGRATIONS.iter().enumerate() {
            let target = index as i32 + 1;
            let applied: StoreResult<()> = transaction!(self, |tx| {
                // Connections cancel statements past a request's timeout; a migration may
                // rewrite a large table.
                tx.batch_execute("SET LOCAL statement_timeout = 0").await.map_err(pg)?;
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
