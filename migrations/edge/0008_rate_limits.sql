-- What every edge replica counted against a rate limit, per subject (a
-- token's digest, or a source address's failed authentications) and
-- minute: each replica adds its own counts every second and reads back
-- the total, so a limit holds across replicas.
CREATE TABLE rate_counts (
    subject TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (subject, window_start)
);
CREATE INDEX rate_counts_window ON rate_counts (window_start);
