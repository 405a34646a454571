-- Cardinal's schema on PostgreSQL (and CockroachDB / YugabyteDB): the same tables and columns
-- as the SQLite backend. Times are integer seconds (UTC), money integer cents, ids UUID text.
-- Only portable features: no advisory locks, no LISTEN/NOTIFY, no triggers.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organizations (
    id                   TEXT PRIMARY KEY,
    slug                 TEXT NOT NULL UNIQUE,
    legal_name           TEXT NOT NULL,
    locale               TEXT NOT NULL,
    timezone             TEXT NOT NULL,
    country              TEXT NOT NULL,
    sca_mode             TEXT NOT NULL,
    clock_offset_seconds BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL
);

CREATE TABLE teams (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE bank_accounts (
    id                       TEXT PRIMARY KEY,
    organization_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                     TEXT NOT NULL,
    status                   TEXT NOT NULL,
    main                     BOOLEAN NOT NULL,
    iban                     TEXT NOT NULL UNIQUE,
    bic                      TEXT NOT NULL,
    currency                 TEXT NOT NULL,
    balance_cents            BIGINT NOT NULL,
    authorized_balance_cents BIGINT NOT NULL,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL
);
CREATE INDEX bank_accounts_by_org ON bank_accounts (organization_id, created_at, id);

CREATE TABLE memberships (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    first_name      TEXT NOT NULL,
    last_name       TEXT NOT NULL,
    email           TEXT NOT NULL,
    role            TEXT NOT NULL,
    status          TEXT NOT NULL,
    team_id         TEXT REFERENCES teams(id) ON DELETE SET NULL,
    locale          TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX memberships_by_org ON memberships (organization_id, created_at, id);
CREATE INDEX memberships_by_team ON memberships (team_id);

CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    secret_hash     BYTEA NOT NULL UNIQUE,
    scopes          TEXT NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX credentials_by_org_kind ON credentials (organization_id, kind);

CREATE TABLE cards (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    holder_id        TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    bank_account_id  TEXT NOT NULL REFERENCES bank_accounts(id) ON DELETE CASCADE,
    card_level       TEXT NOT NULL,
    base_status      TEXT NOT NULL,
    terminal         BOOLEAN NOT NULL,
    expires_at       BIGINT NOT NULL,
    pre_expires_at   BIGINT,
    nickname         TEXT NOT NULL,
    last_activity_at BIGINT,
    created_at       BIGINT NOT NULL,
    search_text      TEXT NOT NULL,
    data             TEXT NOT NULL,
    pan_ciphertext   BYTEA NOT NULL,
    cvv_ciphertext   BYTEA NOT NULL,
    pan_fingerprint  BYTEA NOT NULL UNIQUE
);
CREATE INDEX cards_by_org_created ON cards (organization_id, created_at, id);
CREATE INDEX cards_by_org_holder ON cards (organization_id, holder_id, created_at, id);

CREATE TABLE card_events (
    id              TEXT PRIMARY KEY,
    card_id         TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    -- order of events of one card: written under the card's row lock
    seq             BIGINT NOT NULL,
    action          TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    changes         TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    at              BIGINT NOT NULL,
    UNIQUE (card_id, seq)
);

CREATE TABLE sca_sessions (
    token_hash      BYTEA PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    action_type     TEXT NOT NULL,
    request_hash    BYTEA NOT NULL,
    result          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    consumed_at     BIGINT
);

CREATE TABLE idempotency_keys (
    scope_hash      BYTEA NOT NULL,
    key             TEXT NOT NULL,
    request_hash    BYTEA NOT NULL,
    state           TEXT NOT NULL,
    status          INTEGER,
    response        BYTEA,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (scope_hash, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

CREATE TABLE data_view_tokens (
    token_hash      BYTEA PRIMARY KEY,
    card_id         TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);

CREATE TABLE transactions (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    bank_account_id  TEXT NOT NULL REFERENCES bank_accounts(id) ON DELETE CASCADE,
    card_id          TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    holder_id        TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    slug             TEXT NOT NULL,
    amount_cents     BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    side             TEXT NOT NULL,
    operation_type   TEXT NOT NULL,
    status           TEXT NOT NULL,
    decline_reason   TEXT,
    label            TEXT NOT NULL,
    category         TEXT NOT NULL,
    merchant_country TEXT NOT NULL,
    channel          TEXT NOT NULL,
    counted_day      TEXT,
    counted_month    TEXT,
    card_last_digits TEXT NOT NULL,
    emitted_at       BIGINT NOT NULL,
    settled_at       BIGINT,
    settled_balance_cents BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX transactions_by_account ON transactions (bank_account_id, settled_at, id);
CREATE INDEX transactions_by_card ON transactions (card_id, emitted_at);
