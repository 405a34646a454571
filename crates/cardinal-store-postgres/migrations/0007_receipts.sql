-- Receipts and labels (spec §9). A file lives in the database, with its organization (and its
-- transaction, if attached); a transaction keeps the ids of its receipts and labels as JSON
-- arrays beside its columns (`[]` for none), written with them.
ALTER TABLE transactions ADD COLUMN attachment_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE transactions ADD COLUMN label_ids TEXT NOT NULL DEFAULT '[]';
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    transaction_id  TEXT REFERENCES transactions(id) ON DELETE CASCADE,
    uploaded_by     TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    file_size       BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    content         BYTEA NOT NULL
);
CREATE INDEX attachments_by_organization ON attachments (organization_id);
CREATE INDEX attachments_by_transaction ON attachments (transaction_id);
CREATE TABLE labels (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    parent_id       TEXT REFERENCES labels(id) ON DELETE CASCADE
);
CREATE INDEX labels_by_organization ON labels (organization_id);
-- The organization's legal identity as the control API set it (GET /v2/organization shows
-- sandbox defaults until then): a JSON document.
CREATE TABLE organization_profiles (
    organization_id TEXT PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    data            TEXT NOT NULL
);
