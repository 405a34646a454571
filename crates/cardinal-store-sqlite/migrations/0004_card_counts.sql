-- Card counts per group of every column a counted card list can filter on, kept by triggers
-- in the same transaction as the cards themselves. `meta.total_count` of such a list sums the
-- groups (a handful per holder) instead of reading every matching card, so it costs the same
-- at 1,000,000 cards as at 10,000. Status is derived from the clock, so groups keep the
-- expiry instants rather than a status: the list's status expression applies to them as is.
CREATE TABLE card_counts (
    organization_id  TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    holder_id        TEXT NOT NULL,
    bank_account_id  TEXT NOT NULL,
    card_level       TEXT NOT NULL,
    base_status      TEXT NOT NULL,
    terminal         INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    pre_expires_at   INTEGER,
    n                INTEGER NOT NULL
) STRICT;
CREATE INDEX card_counts_by_group ON card_counts (organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, pre_expires_at);

INSERT INTO card_counts (organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, pre_expires_at, n)
    SELECT organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, pre_expires_at, count(*) FROM cards GROUP BY organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, pre_expires_at;

CREATE TRIGGER cards_counted_on_insert AFTER INSERT ON cards BEGIN
    INSERT INTO card_counts (organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, pre_expires_at, n)
        SELECT NEW.organization_id, NEW.holder_id, NEW.bank_account_id, NEW.card_level, NEW.base_status, NEW.terminal, NEW.expires_at, NEW.pre_expires_at, 0
        WHERE NOT EXISTS (SELECT 1 FROM card_counts k WHERE k.organization_id IS NEW.organization_id AND k.holder_id IS NEW.holder_id AND k.bank_account_id IS NEW.bank_account_id AND k.card_level IS NEW.card_level AND k.base_status IS NEW.base_status AND k.terminal IS NEW.terminal AND k.expires_at IS NEW.expires_at AND k.pre_expires_at IS NEW.pre_expires_at);
    UPDATE card_counts SET n = n + 1 WHERE organization_id IS NEW.organization_id AND holder_id IS NEW.holder_id AND bank_account_id IS NEW.bank_account_id AND card_level IS NEW.card_level AND base_status IS NEW.base_status AND terminal IS NEW.terminal AND expires_at IS NEW.expires_at AND pre_expires_at IS NEW.pre_expires_at;
END;

CREATE TRIGGER cards_counted_on_delete AFTER DELETE ON cards BEGIN
    UPDATE card_counts SET n = n - 1 WHERE organization_id IS OLD.organization_id AND holder_id IS OLD.holder_id AND bank_account_id IS OLD.bank_account_id AND card_level IS OLD.card_level AND base_status IS OLD.base_status AND terminal IS OLD.terminal AND expires_at IS OLD.expires_at AND pre_expires_at IS OLD.pre_expires_at;
END;

CREATE TRIGGER cards_counted_on_update AFTER UPDATE OF organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, pre_expires_at ON cards
WHEN OLD.organization_id IS NOT NEW.organization_id OR OLD.holder_id IS NOT NEW.holder_id OR OLD.bank_account_id IS NOT NEW.bank_account_id OR OLD.card_level IS NOT NEW.card_level OR OLD.base_status IS NOT NEW.base_status OR OLD.terminal IS NOT NEW.terminal OR OLD.expires_at IS NOT NEW.expires_at OR OLD.pre_expires_at IS NOT NEW.pre_expires_at BEGIN
    UPDATE card_counts SET n = n - 1 WHERE organization_id IS OLD.organization_id AND holder_id IS OLD.holder_id AND bank_account_id IS OLD.bank_account_id AND card_level IS OLD.card_level AND base_status IS OLD.base_status AND terminal IS OLD.terminal AND expires_at IS OLD.expires_at AND pre_expires_at IS OLD.pre_expires_at;
    INSERT INTO card_counts (organization_id, holder_id, bank_account_id, card_level, base_status, terminal, expires_at, pre_expires_at, n)
        SELECT NEW.organization_id, NEW.holder_id, NEW.bank_account_id, NEW.card_level, NEW.base_status, NEW.terminal, NEW.expires_at, NEW.pre_expires_at, 0
        WHERE NOT EXISTS (SELECT 1 FROM card_counts k WHERE k.organization_id IS NEW.organization_id AND k.holder_id IS NEW.holder_id AND k.bank_account_id IS NEW.bank_account_id AND k.card_level IS NEW.card_level AND k.base_status IS NEW.base_status AND k.terminal IS NEW.terminal AND k.expires_at IS NEW.expires_at AND k.pre_expires_at IS NEW.pre_expires_at);
    UPDATE card_counts SET n = n + 1 WHERE organization_id IS NEW.organization_id AND holder_id IS NEW.holder_id AND bank_account_id IS NEW.bank_account_id AND card_level IS NEW.card_level AND base_status IS NEW.base_status AND terminal IS NEW.terminal AND expires_at IS NEW.expires_at AND pre_expires_at IS NEW.pre_expires_at;
END;
