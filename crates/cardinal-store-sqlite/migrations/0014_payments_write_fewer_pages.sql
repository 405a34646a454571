-- Every payment wrote a random leaf of `transactions_by_card` (card_id, emitted_at): 20 of the
-- 51 pages a commit of ~16 payments wrote, and as many again for the checkpointer to copy
-- (issue 27). Its one reader, the console's card page, wants a card's newest transactions:
-- the card's row, which every payment rewrites anyway, now keeps their ids
-- (`recent_transactions`, a JSON array newest first, at most 20; see
-- cardinal_store::RECENT_CARD_TRANSACTIONS), and the index goes.
--
-- The cards foreign key goes with it: without an index, deleting a card (a sandbox reset)
-- would scan every transaction for its children. A reset deletes an organization's
-- transactions before its cards (sql::RESET_DELETIONS), and nothing else deletes cards.
--
-- The account's two indexes lose the organization: an account's transactions are all its
-- organization's, and a list checks the organization once, on the account
-- (sql::transaction_list). Each entry is 36 bytes narrower.
--
-- SQLite cannot drop a constraint, so the table is rebuilt (sqlite.org/lang_altertable.html,
-- "other kinds of table schema changes"); the runner turns foreign keys off around it and
-- checks them before committing, so `attachments` keeps its rows.
ALTER TABLE cards ADD COLUMN recent_transactions TEXT NOT NULL DEFAULT '[]';
UPDATE cards SET recent_transactions = (
    SELECT json_group_array(id) FROM (
        SELECT t.id FROM transactions t WHERE t.card_id = cards.id ORDER BY t.emitted_at DESC, t.id DESC LIMIT 20))
WHERE EXISTS (SELECT 1 FROM transactions t WHERE t.card_id = cards.id);

CREATE TABLE transactions_rebuilt (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    bank_account_id  TEXT NOT NULL REFERENCES bank_accounts(id) ON DELETE CASCADE,
    card_id          TEXT NOT NULL,
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
    updated_at       INTEGER NOT NULL,
    attachment_ids   TEXT NOT NULL DEFAULT '[]',
    label_ids        TEXT NOT NULL DEFAULT '[]'
) STRICT;
INSERT INTO transactions_rebuilt (id, organization_id, bank_account_id, card_id, holder_id, slug, amount_cents,
    currency, side, operation_type, status, decline_reason, label, category, merchant_country, channel,
    counted_day, counted_month, card_last_digits, emitted_at, settled_at, settled_balance_cents, created_at,
    updated_at, attachment_ids, label_ids)
SELECT id, organization_id, bank_account_id, card_id, holder_id, slug, amount_cents,
    currency, side, operation_type, status, decline_reason, label, category, merchant_country, channel,
    counted_day, counted_month, card_last_digits, emitted_at, settled_at, settled_balance_cents, created_at,
    updated_at, attachment_ids, label_ids
FROM transactions ORDER BY rowid;
DROP TABLE transactions;
ALTER TABLE transactions_rebuilt RENAME TO transactions;
CREATE INDEX transactions_by_account ON transactions (bank_account_id, settled_at, emitted_at, id);
CREATE INDEX transactions_by_account_emitted ON transactions (bank_account_id, emitted_at, id);
