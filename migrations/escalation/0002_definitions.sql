-- Each tenant's business-hours calendars, SLAs and the ordered rules that
-- choose a ticket's SLA. Definitions are kept as the API gave them (JSON),
-- checked before they are stored.
CREATE TABLE calendars (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    definition TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name_folded)
);

CREATE TABLE slas (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    definition TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name_folded)
);

CREATE TABLE sla_rules (
    tenant_id TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
