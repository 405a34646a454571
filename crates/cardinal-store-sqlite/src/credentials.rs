//! Access tokens and API keys, found by the hash of their secret.

use std::sync::LazyLock;

use async_trait::async_trait;
use cardinal_store::{
    sql::{columns, CREDENTIAL, MEMBERSHIP, ORGANIZATION},
    Credential, CredentialStore, NewCredential, StoreResult,
};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use crate::{
    rows::{credential, seconds},
    sql, SqliteStore,
};
pub(crate) const CREDENTIAL_FROM: &str = "FROM credentials c \
     JOIN organizations o ON o.id = c.organization_id \
     JOIN memberships m ON m.id = c.membership_id";

pub(crate) fn credential_select() -> String {
    format!(
        "SELECT {}, {}, {} {CREDENTIAL_FROM}",
        columns("c", CREDENTIAL),
        columns("o", ORGANIZATION),
        columns("m", MEMBERSHIP)
    )
}

pub(crate) static CREDENTIAL_BY_HASH: LazyLock<String> =
    LazyLock::new(|| format!("{} WHERE c.secret_hash = ?1", credential_select()));

pub(crate) fn insert_credential_row(conn: &Connection, c: &NewCredential) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO credentials (id, organization_id, membership_id, kind, secret_hash, scopes, \
         expires_at, revoked_at, created_at, grant_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9)",
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
            c.grant_id.map(|id| id.to_string()),
        ])
    })
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl CredentialStore for SqliteStore {
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
}
