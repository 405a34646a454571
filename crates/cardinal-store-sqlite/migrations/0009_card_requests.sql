-- Card requests (spec §9): the columns lists filter and sort on, and the request as a JSON
-- document. A request goes with its organization and with its initiator.
CREATE TABLE card_requests (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    initiator_id    TEXT NOT NULL REFERENCES memberships(id) ON DELETE CASCADE,
    request_type    TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    processed_at    INTEGER,
    data            TEXT NOT NULL
) STRICT;
CREATE INDEX card_requests_by_organization ON card_requests (organization_id, created_at);
CREATE INDEX card_requests_by_initiator ON card_requests (initiator_id);
