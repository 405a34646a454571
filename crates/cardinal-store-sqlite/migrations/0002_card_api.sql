-- Strong customer authentication sessions (spec §1.8). Only the token's SHA-256 is stored.
CREATE TABLE sca_sessions (
    token_hash      BLOB PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    action_type     TEXT NOT NULL,
    -- SHA-256 of the request the session was created for (method, path, canonical body)
    request_hash    BLOB NOT NULL,
    result          TEXT NOT NULL, -- waiting | allow | deny
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    consumed_at     INTEGER
) STRICT;
CREATE INDEX sca_sessions_by_expiry ON sca_sessions (expires_at);

-- Idempotency keys (spec §1.6): scoped by a hash of the credential, kept 30 minutes.
CREATE TABLE idempotency_keys (
    scope_hash      BLOB NOT NULL,
    key             TEXT NOT NULL,
    request_hash    BLOB NOT NULL,
    state           TEXT NOT NULL, -- running | done
    status          INTEGER,
    response        BLOB,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (scope_hash, key)
) STRICT;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);

-- Single-use data-view links (spec §3.4). Only the token's SHA-256 is stored.
CREATE TABLE data_view_tokens (
    token_hash      BLOB PRIMARY KEY,
    card_id         TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
) STRICT;
