-- Suppliers incidents can be handed to, and who each incident is with.
-- A supplier's token is stored as its SHA-256 only.
CREATE TABLE suppliers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name_folded)
);
ALTER TABLE tickets ADD COLUMN supplier_id TEXT;
CREATE INDEX tickets_by_supplier ON tickets (tenant_id, supplier_id, id);
