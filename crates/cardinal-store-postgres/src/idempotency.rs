//! Idempotency keys: claim, replay, release.

use crate::db::Db;
use async_trait::async_trait;
use cardinal_store::{
    decide_idempotent, IdempotencyBegin, IdempotencyClaim, IdempotencyDecision, IdempotencyRequest, IdempotencyStore,
    KeyState, StoreResult, StoredIdempotencyKey,
};

use crate::{pg, Fail, PostgresStore};
/// Claims an idempotency key so that of concurrent duplicates, in any process, one starts.
pub(crate) async fn begin_idempotent(client: &Db<'_>, r: &IdempotencyRequest) -> Result<IdempotencyBegin, Fail> {
    let now = r.now.as_second();
    let (scope, request, claim) = (r.scope_hash.to_vec(), r.request_hash.to_vec(), r.claim.to_vec());
    client
        .execute(
            "DELETE FROM idempotency_keys WHERE (scope_hash, key) IN (SELECT scope_hash, key FROM idempotency_keys \
             WHERE created_at <= $1 LIMIT 64)",
            &[&(now - r.keep_for_seconds)],
        )
        .await
        .map_err(pg)?;
    let claimed = client
        .query_opt(
            "INSERT INTO idempotency_keys (scope_hash, key, request_hash, state, status, response, created_at, claim) \
             VALUES ($1, $2, $3, 'running', NULL, NULL, $4, $5) ON CONFLICT (scope_hash, key) DO NOTHING RETURNING 1",
            &[&scope, &r.key, &request, &now, &claim],
        )
        .await
        .map_err(pg)?;
    if claimed.is_some() {
        return Ok(IdempotencyBegin::Started);
    }
    let row = client
        .query_opt(
            "SELECT request_hash, state, status, response, created_at FROM idempotency_keys \
             WHERE scope_hash = $1 AND key = $2 FOR UPDATE",
            &[&scope, &r.key],
        )
        .await
        .map_err(pg)?;
    let Some(row) = row else { return Err(Fail::Retry("idempotency key vanished".into())) };
    let status: Option<i32> = row.get(2);
    let stored = StoredIdempotencyKey {
        request_hash: row.get(0),
        state: KeyState::of_column(row.get::<_, &str>(1)),
        status: status.and_then(|s| u16::try_from(s).ok()),
        response: row.get(3),
        created_at: row.get(4),
    };
    match decide_idempotent(&stored, r) {
        IdempotencyDecision::Answer(answer) => Ok(answer),
        IdempotencyDecision::TakeOver => {
            client
                .execute(
                    "UPDATE idempotency_keys SET request_hash = $3, state = 'running', status = NULL, response = NULL, \
                     created_at = $4, claim = $5 WHERE scope_hash = $1 AND key = $2",
                    &[&scope, &r.key, &request, &now, &claim],
                )
                .await
                .map_err(pg)?;
            Ok(IdempotencyBegin::Started)
        }
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn begin_idempotent(&self, request: IdempotencyRequest) -> StoreResult<IdempotencyBegin> {
        transaction!(self, |tx| { begin_idempotent(tx, &request).await? })
    }

    async fn finish_idempotent(&self, c: IdempotencyClaim, status: u16, body: Vec<u8>) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "UPDATE idempotency_keys SET state = 'done', status = $1, response = $2 \
                 WHERE scope_hash = $3 AND key = $4 AND claim = $5",
                &[&i32::from(status), &body, &c.scope_hash.to_vec(), &c.key, &c.claim.to_vec()],
            )
            .await
            .map_err(pg)?;
        })
    }

    async fn abandon_idempotent(&self, c: IdempotencyClaim) -> StoreResult<()> {
        transaction!(self, |tx| {
            tx.execute(
                "DELETE FROM idempotency_keys WHERE scope_hash = $1 AND key = $2 AND claim = $3 AND state = 'running'",
                &[&c.scope_hash.to_vec(), &c.key, &c.claim.to_vec()],
            )
            .await
            .map_err(pg)?;
        })
    }
}
