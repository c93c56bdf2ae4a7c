-- When each ticket was logged: its clocks count from then, also when it
-- first gets an SLA later (logged before its SLA or the rules existed).
-- Rows from before are left without: their clocks started already, or
-- start when they next change, as before.
ALTER TABLE sla_tickets ADD COLUMN logged_at BIGINT;
