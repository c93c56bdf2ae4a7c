-- The edge's own store: tenants, API tokens, and each tenant's directory of
-- agents, teams, customers and customer companies.

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Tokens are stored as their SHA-256 digest only; the token itself is shown
-- once, when it is created.
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    role TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    principal_name TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_by_tenant ON api_tokens (tenant_id, id);

CREATE TABLE companies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX companies_by_tenant ON companies (tenant_id, id);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    email TEXT,
    company_id TEXT REFERENCES companies (id),
    language TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX customers_by_tenant ON customers (tenant_id, id);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    leader_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX teams_by_tenant ON teams (tenant_id, id);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    email TEXT,
    team_id TEXT REFERENCES teams (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX agents_by_tenant ON agents (tenant_id, id);
