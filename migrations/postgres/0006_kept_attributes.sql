-- Attributes the gateway keeps for a target that cannot store them ([tenants.keep]): one
-- row per resource and attribute, its value as JSON, and (for text) the value as compared:
-- lowercased unless the attribute is case-exact, for filters.
CREATE TABLE IF NOT EXISTS kept_attributes (
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    key TEXT,
    PRIMARY KEY (tenant, kind, id, attribute)
);
CREATE INDEX IF NOT EXISTS kept_attributes_by_key ON kept_attributes (tenant, kind, attribute, key);
