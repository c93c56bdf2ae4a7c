-- One-time jobs escalation has done (e.g. announcing the due times of the
-- tickets it followed before it announced each change), so no replica does
-- one twice.
CREATE TABLE escalation_jobs (
    name TEXT PRIMARY KEY,
    done_at BIGINT NOT NULL
);
