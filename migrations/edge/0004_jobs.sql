-- One-time jobs the edge has done (e.g. announcing the directory that
-- existed before it announced each change), so no replica does one twice.
CREATE TABLE edge_jobs (
    name TEXT PRIMARY KEY,
    done_at BIGINT NOT NULL
);
