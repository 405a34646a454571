-- Webhooks: subscriptions, the events changes report (written in the change's transaction when
-- a subscription wants them), one delivery per event and subscription (made from the events
-- by the worker, or before a control-API read), and every attempt.
-- Times of deliveries and attempts are real milliseconds; an event's created_at is the
-- organization's clock in seconds.

CREATE TABLE webhook_subscriptions (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    callback_url    TEXT NOT NULL,
    types           TEXT NOT NULL,
    description     TEXT,
    secret_sealed   BLOB NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_subscriptions_by_owner ON webhook_subscriptions (organization_id, membership_id, created_at);

CREATE TABLE webhook_events (
    -- The outbox. A change appends its events here, in its own transaction, naming the
    -- subscriptions that want each (comma-separated ids): one row and no index, so the change
    -- pays little for it. Deliveries are made from these rows later, off the change's path
    -- (webhook_expansion). AUTOINCREMENT: a seq is never reused, even once the newest events
    -- went with their organization, so the expansion's cursor can skip none.
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    topic           TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    subscribers     TEXT NOT NULL
) STRICT;

-- The newest event made into deliveries. One row.
CREATE TABLE webhook_expansion (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    cursor INTEGER NOT NULL
) STRICT;
INSERT INTO webhook_expansion (id, cursor) VALUES (1, 0);

CREATE TABLE webhook_deliveries (
    -- Write order: a card's events reach a subscription in it; lists show newest first.
    -- (No AUTOINCREMENT: a rowid above every existing one is enough for order. No foreign key
    -- to the event either: both go with their organization.)
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    event_seq       INTEGER NOT NULL,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
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
-- (`waiting`). Without `due` every claim sorted the whole backlog, and under load the claims
-- took more CPU than the card changes: the worker fell 20,000-40,000 deliveries behind.
-- Delivery ids are UUIDv7 (time-ordered) for the same reason: their keys append.
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
