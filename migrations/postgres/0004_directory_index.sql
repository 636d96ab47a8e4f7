-- The gateway's index of a target's directory: for matching attributes the target cannot
-- filter on, value -> resource id (key is the value as compared: lowercased unless the
-- attribute is case-exact).
CREATE TABLE IF NOT EXISTS directory_index (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    attribute TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (tenant, kind, attribute, key, id)
);
CREATE INDEX IF NOT EXISTS directory_index_by_id ON directory_index (tenant, kind, id);
-- When the index last saw the whole directory, and how many resources it held then
-- (kept current by the gateway's own creates and deletes).
CREATE TABLE IF NOT EXISTS directory_sync (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    complete_at_ms BIGINT,
    total BIGINT,
    PRIMARY KEY (tenant, kind)
);
