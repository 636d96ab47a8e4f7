-- Every SCIM operation, for operators asking "why did this user not arrive?".
CREATE TABLE IF NOT EXISTS provisioning_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    tenant TEXT NOT NULL,
    resource TEXT NOT NULL,
    operation TEXT NOT NULL,
    scim_id TEXT,
    subject TEXT,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    target_calls JSONB NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS provisioning_log_tenant_at ON provisioning_log (tenant, at);
