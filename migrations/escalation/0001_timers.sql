-- The escalation timers: one row per timepoint of a ticket's target that
-- has not fired yet, found by due time. A firing marks its row in the same
-- transaction that writes its event to the outbox, so it happens once.
CREATE TABLE timers (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL,
    -- `response` or `resolve`.
    target TEXT NOT NULL,
    -- Which timepoint of the target (0-based), in the SLA's order.
    timepoint BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    fired_at BIGINT,
    -- Fired more than a second after it was due (a restart, a backlog).
    late BIGINT NOT NULL DEFAULT 0
);
-- Only what has yet to fire is looked up by due time.
CREATE INDEX timers_due ON timers (due_at) WHERE fired_at IS NULL;
CREATE INDEX timers_by_ticket ON timers (tenant_id, ticket_id, target);
