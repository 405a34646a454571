//! Server-wide settings.

use async_trait::async_trait;
use cardinal_store::{SettingStore, StoreResult};

use crate::{pg, PostgresStore};
#[async_trait]
impl SettingStore for PostgresStore {
    async fn is_empty(&self) -> StoreResult<bool> {
        read!(self, |c| {
            c.query_one("SELECT NOT EXISTS (SELECT 1 FROM organizations)", &[]).await.map_err(pg)?.get(0)
        })
    }

    /// A write, not a question: a read-only server refuses it (25006, then 503) and one whose
    /// commits cannot complete (a strict synchronous primary without its standby) never
    /// acknowledges it (503 when the call gives up). One row, rewritten by each probe.
    async fn ready_for_writes(&self) -> StoreResult<()> {
        self.set_setting("readyz.last_write", Some(&jiff::Timestamp::now().to_string())).await
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
}
