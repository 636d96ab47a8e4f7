-- Every SCIM operation, for operators asking "why did this user not arrive?".
CREATE TABLE IF NOT EXISTS provisioning_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,            -- RFC 3339, UTC
    tenant TEXT NOT NULL,
    resource TEXT NOT NULL,
    operation TEXT NOT NULL,
    scim_id TEXT,
    subject TEXT,                -- userName / displayName / the filter's value
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,       -- success | failure
    detail TEXT,
    target_calls TEXT NOT NULL,  -- JSON array of {method, target, status, latency_ms}
    duration_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS provisioning_log_tenant_at ON provisioning_log (tenant, at);
