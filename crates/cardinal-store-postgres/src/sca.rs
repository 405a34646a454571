//! Strong customer authentication sessions.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_store::{ScaResult, ScaSession, ScaStore, StoreResult};
use jiff::Timestamp;
use uuid::Uuid;

use crate::{optional, pg, rows::sca_session, Fail, PostgresStore};
pub(crate) async fn load_sca_session(client: &Db<'_>, hash: &[u8]) -> Result<Option<ScaSession>, Fail> {
    let q = fixed_sql!("SELECT {SESSION_COLUMNS} FROM sca_sessions WHERE token_hash = $1");
    optional(client, q, &[&hash], sca_session).await
}

const SESSION_COLUMNS: &str = "token_hash, organization_id, membership_id, action_type, request_hash, result, \
     created_at, expires_at, consumed_at";

#[async_trait]
impl ScaStore for PostgresStore {
    async fn insert_sca_session(&self, s: ScaSession) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "INSERT INTO sca_sessions (token_hash, organization_id, membership_id, action_type, request_hash, result, \
                 created_at, expires_at, consumed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)",
                &[
                    &s.token_hash.to_vec(),
                    &s.organization_id.to_string(),
                    &s.membership_id.to_string(),
                    &s.action_type,
                    &s.request_hash.to_vec(),
                    &s.result.as_str(),
                    &s.created_at.as_second(),
                    &s.expires_at.as_second(),
                ],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn sca_session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ScaSession>> {
        read!(self, |c| { load_sca_session(c, token_hash).await? })
    }

    async fn decide_sca_session(&self, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>> {
        let hash = token_hash.to_vec();
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE sca_sessions SET result = $1 WHERE token_hash = $2 AND result = 'waiting'",
                &[&result.as_str(), &hash],
            )
            .await
            .map_err(pg)?;
            load_sca_session(tx, &hash).await?
        })
    }

    async fn consume_sca_session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<bool> {
        transaction!(self, |tx| { spend_sca_session(tx, token_hash, now).await? })
    }

    async fn waiting_sca_sessions(&self, org: Uuid, now: Timestamp, limit: u32) -> StoreResult<Vec<ScaSession>> {
        let q = fixed_sql!(
            "SELECT {SESSION_COLUMNS} FROM sca_sessions WHERE organization_id = $1 AND result = 'waiting' \
             AND expires_at > $2 ORDER BY created_at DESC, token_hash LIMIT $3"
        );
        read!(self, |c| {
            let rows = c.query(q, &[&org.to_string(), &now.as_second(), &i64::from(limit)]).await.map_err(pg)?;
            rows.iter().map(sca_session).collect::<Result<Vec<_>, Fail>>()?
        })
    }
}

/// Marks an allowed, unexpired, unused session used; false if it was not (any more).
pub(crate) async fn spend_sca_session(client: &Db<'_>, token_hash: &[u8; 32], now: Timestamp) -> Result<bool, Fail> {
    let changed = client
        .execute(
            "UPDATE sca_sessions SET consumed_at = $1 WHERE token_hash = $2 AND result = 'allow' \
             AND consumed_at IS NULL AND expires_at > $1",
            &[&now.as_second(), &token_hash.to_vec()],
        )
        .await
        .map_err(pg)?;
    Ok(changed == 1)
}
