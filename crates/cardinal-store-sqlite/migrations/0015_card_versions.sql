-- A card row counts its saves (issue 27): `version` goes up by one each time the card's
-- document is saved (cards.rs, SAVE_CARD). A list reads each row's id and version, and takes
-- the card from the read cache when the cache holds that very version, instead of reading
-- and parsing its document again (cards.rs, `list_cards`).
-- Adding a column with a constant default rewrites no row (sqlite.org/lang_altertable.html).
ALTER TABLE cards ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
