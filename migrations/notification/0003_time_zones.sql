-- The time zone of each ticket's SLA calendar, as escalation announces it
-- with the due times: emails write those times in it.
ALTER TABLE mail_ticket_targets ADD COLUMN time_zone TEXT;
