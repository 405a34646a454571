-- The webhook ledger: the deliveries made from the outbox (webhook_events, in the main
-- database), their attempts, and how far the outbox was read. It is a database of its own,
-- `<database>-webhooks`, with its own writer: the worker's writes (a delivery made, an attempt
-- recorded) never queue with the card changes. Rows name subscriptions and events of the main
-- database; with no foreign keys across databases, the store deletes them with their
-- subscription or organization (webhooks.rs). Times are real milliseconds.

-- The newest outbox event made into deliveries. One row.
CREATE TABLE webhook_expansion (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL
) STRICT;
INSERT INTO webhook_expansion (id, cursor) VALUES (1, 0);

CREATE TABLE webhook_deliveries (
    -- Write order: a card's events reach a subscription in it; lists show newest first.
    -- (No AUTOINCREMENT: a rowid above every existing one is enough for order.)
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    event_seq       INTEGER NOT NULL,
    subscription_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    -- (No lease columns: one process owns a SQLite database, so leases live in its memory.)
    next_attempt_ms INTEGER
);
-- The queue: only pending deliveries are indexed, so the indexes stay as small as the backlog
-- and an expansion's inserts land on pages the last ones already dirtied. A claim (a read, see
-- Leases) walks the due ones in order (`due`) and keeps the heads of their card's queue
-- (`waiting`); without `due` it sorted the whole backlog at every claim, and under load the
-- claims took more CPU than the card changes. Delivery ids are UUIDv7 (time-ordered) for the
-- same reason: their keys append.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (subscription_id, ordering_key, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_organization ON webhook_deliveries (organization_id, seq);

CREATE TABLE webhook_attempts (
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    at_ms           INTEGER NOT NULL,
    latency_ms      INTEGER NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    answer          TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    PRIMARY KEY (delivery_id, number)
) STRICT;
