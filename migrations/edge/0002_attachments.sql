-- Files attached to tickets (and to their actions). The edge keeps them:
-- it is where they come in and go out over HTTP, and a file never needs to
-- cross the bus. Which ticket it belongs to is ticketing's id; who may see
-- the ticket is asked of ticketing on every access.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    ticket_kind TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    action_id TEXT,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    public BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    -- BYTEA on PostgreSQL; SQLite keeps the bytes as a BLOB whatever the
    -- declared type.
    content BYTEA NOT NULL
);
CREATE INDEX attachments_by_ticket ON attachments (tenant_id, ticket_id, id);
