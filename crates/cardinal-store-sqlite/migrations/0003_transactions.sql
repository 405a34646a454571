-- Card transactions (spec §6): one row per authorization, approved or declined.
CREATE TABLE transactions (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    bank_account_id  TEXT NOT NULL REFERENCES bank_accounts(id) ON DELETE CASCADE,
    card_id          TEXT NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
    holder_id        TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    slug             TEXT NOT NULL,
    amount_cents     INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    side             TEXT NOT NULL,
    operation_type   TEXT NOT NULL,
    status           TEXT NOT NULL, -- pending | completed | reversed | declined
    decline_reason   TEXT,
    label            TEXT NOT NULL,
    category         TEXT NOT NULL,
    merchant_country TEXT NOT NULL,
    channel          TEXT NOT NULL,
    -- the spending windows an approval was counted in (local dates), for reversals
    counted_day      TEXT,
    counted_month    TEXT,
    card_last_digits TEXT NOT NULL,
    emitted_at       INTEGER NOT NULL,
    settled_at       INTEGER,
    settled_balance_cents INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX transactions_by_account ON transactions (bank_account_id, settled_at, id);
CREATE INDEX transactions_by_card ON transactions (card_id, emitted_at);
