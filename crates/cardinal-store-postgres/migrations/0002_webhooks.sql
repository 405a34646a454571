-- Webhooks: subscriptions, the events changes report (written in the change's transaction when
-- a subscription wants them), one delivery per event and subscription, and every attempt.
-- Times of deliveries and attempts are real milliseconds; an event's created_at is the
-- organization's clock in seconds.

CREATE TABLE webhook_subscriptions (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    callback_url    TEXT NOT NULL,
    types           TEXT NOT NULL,
    description     TEXT,
    secret_sealed   BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_by_owner ON webhook_subscriptions (organization_id, membership_id, created_at);

CREATE TABLE webhook_events (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    topic           TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    -- Write order: a card's events reach a subscription in it (its changes hold the card's row
    -- lock, so their deliveries take sequence numbers in the order they happen).
    seq             BIGSERIAL PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    event_id        TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_ms BIGINT,
    lease_owner     TEXT,
    lease_until_ms  BIGINT
);
-- The queue: only pending deliveries are indexed for the worker, so both indexes stay as small
-- as the backlog and a change's insert lands on pages the last ones already dirtied. Event and
-- delivery ids are UUIDv7 (time-ordered) for the same reason: their keys append.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (subscription_id, ordering_key, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_organization ON webhook_deliveries (organization_id, seq);

CREATE TABLE webhook_attempts (
    delivery_id     TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    at_ms           BIGINT NOT NULL,
    latency_ms      INTEGER NOT NULL,
    status_code     INTEGER,
    error           TEXT,
    answer          TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
