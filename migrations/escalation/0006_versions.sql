-- Each calendar and SLA counts its versions, for the edge's ETag: a
-- replacement sent with `If-Match` naming an older one is refused (412)
-- instead of undoing what was written since.
ALTER TABLE calendars ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE slas ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
