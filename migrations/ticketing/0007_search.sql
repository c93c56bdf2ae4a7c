-- Search (`q`) matches the description and the actions' text besides the
-- summary, each folded to lower case as the summary is (by the service, for
-- all of Unicode). Rows written before are folded here: by PostgreSQL for
-- all of Unicode, by SQLite for ASCII only.
ALTER TABLE tickets ADD COLUMN description_folded TEXT NOT NULL DEFAULT '';
UPDATE tickets SET description_folded = LOWER(description);
ALTER TABLE ticket_actions ADD COLUMN body_folded TEXT NOT NULL DEFAULT '';
UPDATE ticket_actions SET body_folded = LOWER(body);
