//! Idempotency keys: claim, replay, release.

use async_trait::async_trait;
use cardinal_store::{
    decide_idempotent, IdempotencyBegin, IdempotencyClaim, IdempotencyDecision, IdempotencyRequest, IdempotencyStore,
    KeyState, StoreResult, StoredIdempotencyKey,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::{rows::seconds, sql, SqliteStore};
/// Claims an idempotency key, or says why it cannot be claimed. Runs on the writer thread,
/// so two requests with one key can never both start.
pub(crate) fn begin_idempotent(conn: &Connection, r: &IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
    let now = seconds(r.now);
    let existing = conn
        .prepare_cached(
            "SELECT request_hash, state, status, response, created_at FROM idempotency_keys \
             WHERE scope_hash = ?1 AND key = ?2",
        )
        .and_then(|mut s| {
            s.query_row(params![r.scope_hash.to_vec(), r.key], |row| {
                Ok(StoredIdempotencyKey {
                    request_hash: row.get(0)?,
                    state: KeyState::of_column(&row.get::<_, String>(1)?),
                    status: row.get(2)?,
                    response: row.get(3)?,
                    created_at: row.get(4)?,
                })
            })
            .optional()
        })
        .map_err(sql)?;
    if let Some(IdempotencyDecision::Answer(answer)) = existing.map(|stored| decide_idempotent(&stored, r)) {
        return Ok(answer);
    }
    // Expired entries are swept here, a few at a time, rather than by a separate job.
    conn.execute(
        "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at <= ?1 LIMIT 64)",
        [now - r.keep_for_seconds],
    )
    .map_err(sql)?;
    // A new key, or one taken over: the writer is the only one, so an upsert claims it.
    conn.execute(
        "INSERT INTO idempotency_keys (scope_hash, key, request_hash, state, status, response, created_at, claim) \
         VALUES (?1, ?2, ?3, 'running', NULL, NULL, ?4, ?5) \
         ON CONFLICT (scope_hash, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'running', \
         status = NULL, response = NULL, created_at = excluded.created_at, claim = excluded.claim",
        params![r.scope_hash.to_vec(), r.key, r.request_hash.to_vec(), now, r.claim.to_vec()],
    )
    .map_err(sql)?;
    Ok(IdempotencyBegin::Started)
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn begin_idempotent(&self, request: IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
        self.engine.write(move |conn| begin_idempotent(conn, &request)).await
    }

    async fn finish_idempotent(&self, c: IdempotencyClaim, status: u16, body: Vec<u8>) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "UPDATE idempotency_keys SET state = 'done', status = ?1, response = ?2 \
                     WHERE scope_hash = ?3 AND key = ?4 AND claim = ?5",
                    params![status, body, c.scope_hash.to_vec(), c.key, c.claim.to_vec()],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn abandon_idempotent(&self, c: IdempotencyClaim) -> StoreResult<()> {
        self.engine
            .write(move |conn| {
                conn.execute(
                    "DELETE FROM idempotency_keys WHERE scope_hash = ?1 AND key = ?2 AND claim = ?3 AND state = 'running'",
                    params![c.scope_hash.to_vec(), c.key, c.claim.to_vec()],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }
}
