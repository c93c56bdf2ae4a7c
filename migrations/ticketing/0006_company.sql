-- The company of the ticket's customer when it was logged (from the edge's
-- directory): SLA rules and reports may go by it.
ALTER TABLE tickets ADD COLUMN company_id TEXT;
