-- The escalation service's own copy of each ticket it follows: what
-- chooses its SLA and moves its clocks, kept from ticketing's events (it
-- never reads ticketing's tables). Each target's clock is kept whole as
-- JSON (its timeline included); what reports filter on has a column.
CREATE TABLE sla_tickets (
    ticket_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    priority BIGINT NOT NULL,
    service TEXT,
    customer_id TEXT,
    company_id TEXT,
    assignee_id TEXT,
    team_id TEXT,
    -- The ticket's version in the last full snapshot applied: an older
    -- snapshot arriving late changes nothing.
    version BIGINT NOT NULL,
    -- The latest event time applied: clocks never run backwards.
    last_at BIGINT NOT NULL,
    sla_id TEXT,
    calendar_id TEXT,
    response TEXT,
    resolve TEXT,
    response_met_at BIGINT,
    response_breached_at BIGINT,
    resolve_met_at BIGINT,
    resolve_breached_at BIGINT
);
CREATE INDEX sla_tickets_reference ON sla_tickets (tenant_id, reference);
-- Reports: targets decided (met or breached) in a period.
CREATE INDEX sla_tickets_response_met ON sla_tickets (tenant_id, response_met_at);
CREATE INDEX sla_tickets_response_breached ON sla_tickets (tenant_id, response_breached_at);
CREATE INDEX sla_tickets_resolve_met ON sla_tickets (tenant_id, resolve_met_at);
CREATE INDEX sla_tickets_resolve_breached ON sla_tickets (tenant_id, resolve_breached_at);
-- A definition's change moves the clocks of the open tickets under it.
CREATE INDEX sla_tickets_sla ON sla_tickets (sla_id);

-- The breach itself is a timer too (timepoint -1), so a target passing
-- unmet is on the timeline even when the SLA gives it no timepoint there.

-- Timers are replaced by ticket (and target) on every change: the index
-- must lead with the ticket, which is globally unique.
DROP INDEX timers_by_ticket;
CREATE INDEX timers_by_ticket ON timers (ticket_id, target);
