-- The OAuth 2.0 authorization server (spec §8): clients, codes, grants, refresh tokens.
-- Secrets, codes and tokens are kept as SHA-256 hashes only. Access tokens are credentials
-- carrying the grant that issued them; removing a client removes its grants, and with them
-- its codes, refresh tokens and access tokens.
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   BLOB NOT NULL,
    redirect_uris TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE oauth_grants (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL,
    auth_time       INTEGER NOT NULL,
    nonce           TEXT,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
) STRICT;
CREATE INDEX oauth_grants_by_consent ON oauth_grants (client_id, membership_id);
CREATE INDEX oauth_grants_by_membership ON oauth_grants (membership_id);
CREATE INDEX oauth_grants_by_organization ON oauth_grants (organization_id);

CREATE TABLE oauth_codes (
    code_hash       BLOB PRIMARY KEY,
    client_id       TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    membership_id   TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    scopes          TEXT NOT NULL,
    auth_time       INTEGER NOT NULL,
    nonce           TEXT,
    redirect_uri    TEXT NOT NULL,
    code_challenge  TEXT,
    issued_at       INTEGER NOT NULL,
    used_at         INTEGER,
    grant_id        TEXT
) STRICT;
CREATE INDEX oauth_codes_by_client ON oauth_codes (client_id);
CREATE INDEX oauth_codes_by_membership ON oauth_codes (membership_id);
CREATE INDEX oauth_codes_by_organization ON oauth_codes (organization_id);

CREATE TABLE oauth_refresh_tokens (
    token_hash    BLOB PRIMARY KEY,
    grant_id      TEXT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    issued_at     INTEGER NOT NULL,
    first_used_at INTEGER
) STRICT;
CREATE INDEX oauth_refresh_tokens_by_grant ON oauth_refresh_tokens (grant_id);

ALTER TABLE credentials ADD COLUMN grant_id TEXT REFERENCES oauth_grants(id) ON DELETE CASCADE;
CREATE INDEX credentials_by_grant ON credentials (grant_id);
