//! Strong customer authentication sessions.

use async_trait::async_trait;
use cardinal_store::{ScaResult, ScaSession, ScaStore, StoreResult};
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use uuid::Uuid;

use crate::{
    rows::{seconds, timestamp, uuid},
    sql, SqliteStore,
};
const SESSION_COLUMNS: &str = "token_hash, organization_id, membership_id, action_type, request_hash, result, \
     created_at, expires_at, consumed_at";

pub(crate) fn load_sca_session(conn: &Connection, hash: &[u8]) -> StoreResult<Option<ScaSession>> {
    conn.prepare_cached(&format!("SELECT {SESSION_COLUMNS} FROM sca_sessions WHERE token_hash = ?1"))
        .and_then(|mut s| s.query_row([hash], session_row).optional())
        .map_err(sql)
}

fn session_row(r: &rusqlite::Row) -> rusqlite::Result<ScaSession> {
    let token: Vec<u8> = r.get(0)?;
    let request: Vec<u8> = r.get(4)?;
    let result: String = r.get(5)?;
    let consumed: Option<i64> = r.get(8)?;
    Ok(ScaSession {
        token_hash: token.try_into().unwrap_or([0; 32]),
        organization_id: uuid(r.get(1)?)?,
        membership_id: uuid(r.get(2)?)?,
        action_type: r.get(3)?,
        request_hash: request.try_into().unwrap_or([0; 32]),
        result: ScaResult::parse(&result).unwrap_or(ScaResult::Deny),
        created_at: timestamp(r.get(6)?)?,
        expires_at: timestamp(r.get(7)?)?,
        consumed_at: consumed.map(timestamp).transpose()?,
    })
}

#[async_trait]
impl ScaStore for SqliteStore {
    async fn insert_sca_session(&self, session: ScaSession) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO sca_sessions (token_hash, organization_id, membership_id, action_type, request_hash, \
                     result, created_at, expires_at, consumed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        session.token_hash.to_vec(),
                        session.organization_id.to_string(),
                        session.membership_id.to_string(),
                        session.action_type,
                        session.request_hash.to_vec(),
                        session.result.as_str(),
                        seconds(session.created_at),
                        seconds(session.expires_at),
                    ])
                })
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn sca_session(&self, token_hash: &[u8; 32]) -> StoreResult<Option<ScaSession>> {
        let hash = token_hash.to_vec();
        self.engine.read(move |conn| load_sca_session(conn, &hash)).await
    }

    async fn decide_sca_session(&self, token_hash: &[u8; 32], result: ScaResult) -> StoreResult<Option<ScaSession>> {
        let hash = token_hash.to_vec();
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE sca_sessions SET result = ?1 WHERE token_hash = ?2 AND result = 'waiting'",
                    params![result.as_str(), hash],
                )
                .map_err(sql)?;
                load_sca_session(conn, &hash)
            })
            .await
    }

    async fn consume_sca_session(&self, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<bool> {
        let hash = *token_hash;
        self.engine.write(move |conn| spend_sca_session(conn, &hash, now)).await
    }

    async fn waiting_sca_sessions(&self, org: Uuid, now: Timestamp, limit: u32) -> StoreResult<Vec<ScaSession>> {
        self.engine
            .read(move |conn| {
                conn.prepare_cached(&format!(
                    "SELECT {SESSION_COLUMNS} FROM sca_sessions WHERE organization_id = ?1 AND result = 'waiting' \
                     AND expires_at > ?2 ORDER BY created_at DESC, token_hash LIMIT ?3"
                ))
                .and_then(|mut s| s.query_map(params![org.to_string(), seconds(now), limit], session_row)?.collect())
                .map_err(sql)
            })
            .await
    }
}

/// Marks an allowed, unexpired, unused session used; false if it was not (any more).
pub(crate) fn spend_sca_session(conn: &Connection, token_hash: &[u8; 32], now: Timestamp) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE sca_sessions SET consumed_at = ?1 WHERE token_hash = ?2 AND result = 'allow' \
             AND consumed_at IS NULL AND expires_at > ?1",
        )
        .and_then(|mut s| s.execute(params![seconds(now), token_hash.to_vec()]))
        .map_err(sql)?;
    Ok(changed == 1)
}
