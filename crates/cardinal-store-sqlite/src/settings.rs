//! Server-wide settings.

use async_trait::async_trait;
use cardinal_store::{SettingStore, StoreResult};
use rusqlite::OptionalExtension;

use crate::{sql, SqliteStore};
#[async_trait]
impl SettingStore for SqliteStore {
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
}
