-- Every card change (lock, unlock, limits, ...) wrote a random leaf of `card_events_by_card`
-- (card_id, seq): with the card's own row, the second random page of each write, and as many
-- again for the checkpointer to copy. Under lock/unlock at 32 connections that was 18 KB
-- written to disk a change against 8 KB without the index (issue 27).
--
-- A card's events are now a chain: the card's row, which every change rewrites anyway, names
-- its newest event (`last_event_seq`), and each event the one before it (`previous_seq`).
-- Reading a card's history walks the chain by primary key (card_events.rs).
--
-- The events keep their organization, indexed in the order they were written: an
-- organization's deletion cascades through that index, a sandbox reset deletes by it
-- (sql::reset_deletions), and each new entry lands at the end of its organization's range
-- instead of in a random page. The foreign key to the card goes: without an index by card,
-- deleting a card would scan every event for its children, and cards are only deleted with
-- their organization's events (a reset) or with the organization (the cascade above).
--
-- SQLite cannot change a table's constraints, so the table is rebuilt, as 0014 rebuilt the
-- transactions (the runner turns foreign keys off around it and checks them before commit).
ALTER TABLE cards ADD COLUMN last_event_seq INTEGER;
UPDATE cards SET last_event_seq = (SELECT max(e.seq) FROM card_events e WHERE e.card_id = cards.id)
WHERE EXISTS (SELECT 1 FROM card_events e WHERE e.card_id = cards.id);

CREATE TABLE card_events_rebuilt (
    -- no AUTOINCREMENT: it reads and writes `sqlite_sequence` at every insert, and a number
    -- freed by a reset may be taken again, as no row names it any more
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    card_id         TEXT NOT NULL,
    -- the same card's event before this one; NULL for its first
    previous_seq    INTEGER,
    action          TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    changes         TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    at              INTEGER NOT NULL
) STRICT;
INSERT INTO card_events_rebuilt (seq, id, organization_id, card_id, previous_seq, action, actor_type, actor_id,
    from_status, to_status, changes, request_id, at)
SELECT e.seq, e.id, c.organization_id, e.card_id, lag(e.seq) OVER (PARTITION BY e.card_id ORDER BY e.seq),
    e.action, e.actor_type, e.actor_id, e.from_status, e.to_status, e.changes, e.request_id, e.at
FROM card_events e JOIN cards c ON c.id = e.card_id ORDER BY e.seq;
DROP TABLE card_events;
ALTER TABLE card_events_rebuilt RENAME TO card_events;
CREATE INDEX card_events_by_organization ON card_events (organization_id, seq);
