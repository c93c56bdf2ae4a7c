-- Incidents, their actions and their audit trail. Ids are UUIDv7 text (they
-- sort by creation time, which cursor pagination relies on); times are
-- microseconds since the epoch; every row carries its tenant.

CREATE TABLE ticket_sequences (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    priority BIGINT NOT NULL,
    impact BIGINT,
    urgency BIGINT,
    summary TEXT NOT NULL,
    -- The summary in lower case as Rust folds it (all of Unicode), for
    -- search: SQLite's lower() folds ASCII only.
    summary_folded TEXT NOT NULL,
    description TEXT NOT NULL,
    customer_id TEXT,
    category TEXT,
    service TEXT,
    assignee_id TEXT,
    team_id TEXT,
    resolution TEXT,
    logged_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    resolved_at BIGINT,
    closed_at BIGINT,
    version BIGINT NOT NULL,
    UNIQUE (tenant_id, reference)
);
CREATE INDEX incidents_by_tenant ON incidents (tenant_id, id);
CREATE INDEX incidents_by_status ON incidents (tenant_id, status, id);
CREATE INDEX incidents_by_assignee ON incidents (tenant_id, assignee_id, id);
CREATE INDEX incidents_by_team ON incidents (tenant_id, team_id, id);
CREATE INDEX incidents_by_customer ON incidents (tenant_id, customer_id, id);

CREATE TABLE incident_actions (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    public BIGINT NOT NULL,
    email_customer BIGINT NOT NULL,
    knowledge_base BIGINT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX incident_actions_by_incident ON incident_actions (tenant_id, incident_id, id);

CREATE TABLE incident_audit (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    change TEXT NOT NULL,
    from_value TEXT,
    to_value TEXT,
    actor TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX incident_audit_by_incident ON incident_audit (tenant_id, incident_id, id);

-- A tenant's own impact × urgency → priority cells; absent cells use the
-- default matrix (priority = impact + urgency - 1).
CREATE TABLE priority_matrix (
    tenant_id TEXT NOT NULL,
    impact BIGINT NOT NULL,
    urgency BIGINT NOT NULL,
    priority BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, impact, urgency)
);
