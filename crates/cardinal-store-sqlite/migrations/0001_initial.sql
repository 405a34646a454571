-- Cardinal's schema. Times are integer seconds since the Unix epoch (UTC); money is integer
-- cents; ids are hyphenated UUID text. A card's full state is the JSON document `data`; the
-- columns beside it are copies kept for filtering, sorting and uniqueness, written together.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE organizations (
    id                   TEXT PRIMARY KEY,
    slug                 TEXT NOT NULL UNIQUE,
    legal_name           TEXT NOT NULL,
    locale               TEXT NOT NULL,
    timezone             TEXT NOT NULL,
    country              TEXT NOT NULL,
    sca_mode             TEXT NOT NULL,
    clock_offset_seconds INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE teams (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    UNIQUE (organization_id, name)
) STRICT;

CREATE TABLE bank_accounts (
    id                       TEXT PRIMARY KEY,
    organization_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                     TEXT NOT NULL,
    status                   TEXT NOT NULL,
    main                     INTEGER NOT NULL,
    iban                     TEXT NOT NULL UNIQUE,
    bic                      TEXT NOT NULL,
    currency                 TEXT NOT NULL,
    balance_cents            INTEGER NOT NULL,
    authorized_balance_cents INTEGER NOT NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
) STRICT;
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
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX memberships_by_org ON memberships (organization_id, created_at, id);
CREATE INDEX memberships_by_team ON memberships (team_id);

CREATE TABLE credentials (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    secret_hash     BLOB NOT NULL UNIQUE,
    scopes          TEXT NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX credentials_by_org_kind ON credentials (organization_id, kind);

CREATE TABLE cards (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    holder_id        TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    bank_account_id  TEXT NOT NULL REFERENCES bank_accounts(id) ON DELETE CASCADE,
    card_level       TEXT NOT NULL,
    -- status ignoring the clock; the clock-dependent part is derived in queries
    base_status      TEXT NOT NULL,
    terminal         INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    pre_expires_at   INTEGER,
    nickname         TEXT NOT NULL,
    last_activity_at INTEGER,
    created_at       INTEGER NOT NULL,
    search_text      TEXT NOT NULL,
    data             TEXT NOT NULL,
    pan_ciphertext   BLOB NOT NULL,
    cvv_ciphertext   BLOB NOT NULL,
    pan_fingerprint  BLOB NOT NULL UNIQUE
) STRICT;
CREATE INDEX cards_by_org_created ON cards (organization_id, created_at, id);
CREATE INDEX cards_by_org_holder ON cards (organization_id, holder_id, created_at, id);

CREATE TABLE card_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    card_id         TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    action          TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    changes         TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    at              INTEGER NOT NULL
) STRICT;
CREATE INDEX card_events_by_card ON card_events (card_id, seq);
