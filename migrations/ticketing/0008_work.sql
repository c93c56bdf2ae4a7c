-- What a pending ticket waits for, and the time spent on it: each action
-- may record the minutes of work it took, and the ticket keeps their sum.
ALTER TABLE tickets ADD COLUMN pending_reason TEXT;
ALTER TABLE tickets ADD COLUMN time_spent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE ticket_actions ADD COLUMN minutes BIGINT;
