-- What the KPI reports read without scanning actions or the audit trail:
-- when the desk first responded, and how often a ticket was reopened.
ALTER TABLE tickets ADD COLUMN first_response_at BIGINT;
ALTER TABLE tickets ADD COLUMN reopened BIGINT NOT NULL DEFAULT 0;
CREATE INDEX tickets_by_created ON tickets (tenant_id, kind, created_at);
CREATE INDEX tickets_by_resolved ON tickets (tenant_id, kind, resolved_at);
-- Progress on problems since the last report: actions by time.
CREATE INDEX ticket_actions_by_time ON ticket_actions (tenant_id, created_at);

-- Satisfaction surveys: offered when an incident with a customer is
-- resolved, answered once through a link that carries the token. The token
-- is kept as it is (not hashed) so that the customer's portal can show the
-- link again; all it grants is one rating of one incident.
CREATE TABLE surveys (
    token TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    customer_id TEXT,
    offered_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rating BIGINT,
    comment TEXT,
    answered_at BIGINT
);
CREATE INDEX surveys_by_ticket ON surveys (tenant_id, ticket_id);
CREATE INDEX surveys_by_answer ON surveys (tenant_id, answered_at);
