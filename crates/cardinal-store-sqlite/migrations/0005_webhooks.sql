-- Webhooks: subscriptions, and the events changes report (written in the change's transaction
-- when a subscription wants them). The deliveries made from the events, and their attempts, are
-- the webhook ledger's: a database of their own (migrations/webhooks/), beside this one.
-- An event's created_at is the organization's clock in seconds.

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
    -- pays little for it. Deliveries are made from these rows later, in the webhook ledger,
    -- behind its cursor. AUTOINCREMENT: a seq is never reused, even once the newest events
    -- went with their organization, so the cursor can skip none.
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    topic           TEXT NOT NULL,
    ordering_key    TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    subscribers     TEXT NOT NULL
) STRICT;
