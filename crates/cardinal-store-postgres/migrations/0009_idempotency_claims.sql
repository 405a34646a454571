-- Idempotency claims name their holder (issue 28): a random token per claim, so that a release
-- retried after a failover (when the database came back) frees only its own claim, never the
-- claim of a later request with the same key. Rows claimed before this migration have none and
-- are released by age, as before.
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS claim BYTEA;
