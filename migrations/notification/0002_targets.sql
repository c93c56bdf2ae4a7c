-- The copy of each ticket's SLA due times, as the escalation service
-- announces them (escalation.ticket.targets): emails that show them read
-- them here instead of asking escalation while their transaction is open.
CREATE TABLE mail_ticket_targets (
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    response_due BIGINT,
    resolve_due BIGINT,
    PRIMARY KEY (tenant_id, ticket_id)
);
