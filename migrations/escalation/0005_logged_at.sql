-- When each ticket was logged, while the desk has not answered it: its
-- clocks count from then, also when it first gets an SLA later (logged
-- before its SLA or the rules existed). Rows from before learn it from
-- their next change; clocks that started already are left as they are.
ALTER TABLE sla_tickets ADD COLUMN logged_at BIGINT;
