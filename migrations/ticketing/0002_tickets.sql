-- Every kind of ticket in one table: incidents, problems, changes and
-- service requests share references, actions, audit, links and reports.
-- What only one kind has lives in `details` (JSON); what lists or reports
-- filter on has a column.

ALTER TABLE incidents RENAME TO tickets;
ALTER TABLE tickets ADD COLUMN kind TEXT NOT NULL DEFAULT 'incident';
-- The problem an incident is linked to (many incidents, one problem).
ALTER TABLE tickets ADD COLUMN problem_id TEXT;
ALTER TABLE tickets ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
-- A change's window, for the change calendar.
ALTER TABLE tickets ADD COLUMN planned_start BIGINT;
ALTER TABLE tickets ADD COLUMN planned_end BIGINT;

DROP INDEX incidents_by_tenant;
DROP INDEX incidents_by_status;
DROP INDEX incidents_by_assignee;
DROP INDEX incidents_by_team;
DROP INDEX incidents_by_customer;
CREATE INDEX tickets_by_kind ON tickets (tenant_id, kind, id);
CREATE INDEX tickets_by_status ON tickets (tenant_id, kind, status, id);
CREATE INDEX tickets_by_assignee ON tickets (tenant_id, kind, assignee_id, id);
CREATE INDEX tickets_by_team ON tickets (tenant_id, kind, team_id, id);
CREATE INDEX tickets_by_customer ON tickets (tenant_id, kind, customer_id, id);
CREATE INDEX tickets_by_problem ON tickets (tenant_id, problem_id, id);
CREATE INDEX tickets_by_window ON tickets (tenant_id, kind, planned_start);

ALTER TABLE incident_actions RENAME TO ticket_actions;
ALTER TABLE ticket_actions RENAME COLUMN incident_id TO ticket_id;
DROP INDEX incident_actions_by_incident;
CREATE INDEX ticket_actions_by_ticket ON ticket_actions (tenant_id, ticket_id, id);

ALTER TABLE incident_audit RENAME TO ticket_audit;
ALTER TABLE ticket_audit RENAME COLUMN incident_id TO ticket_id;
DROP INDEX incident_audit_by_incident;
CREATE INDEX ticket_audit_by_ticket ON ticket_audit (tenant_id, ticket_id, id);

-- A typed link between two tickets of any kinds, stored once and listed
-- from both ends. `link_type` reads from `from_id` to `to_id`
-- ("INC-1 caused_by PRB-2").
CREATE TABLE ticket_links (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    from_id TEXT NOT NULL REFERENCES tickets (id),
    to_id TEXT NOT NULL REFERENCES tickets (id),
    link_type TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, from_id, to_id, link_type)
);
CREATE INDEX ticket_links_to ON ticket_links (tenant_id, to_id);

-- Tenant-defined extended data: the fields each kind of ticket carries, and
-- the types of service request with their own fields and steps.
CREATE TABLE field_definitions (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    definitions TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind)
);

CREATE TABLE request_types (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    description TEXT NOT NULL,
    fields TEXT NOT NULL,
    steps TEXT NOT NULL,
    UNIQUE (tenant_id, name_folded)
);

-- Extended data values, one row per ticket and field, so that lists can
-- filter on them with an index on both databases.
ALTER TABLE tickets ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
CREATE TABLE ticket_field_values (
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field)
);
CREATE INDEX ticket_field_values_by_value ON ticket_field_values (tenant_id, field, value);
