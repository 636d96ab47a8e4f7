-- Access tokens issued by tenants' OAuth token endpoints: only their SHA-256 hashes, with
-- when they expire (Unix seconds). Expired rows go when the tenant issues its next token.
CREATE TABLE IF NOT EXISTS access_tokens (
    tenant TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, token_hash)
);
