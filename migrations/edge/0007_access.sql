-- Tokens may expire; agents and customers may be deactivated: their tokens
-- stop working and their history stays (a deactivated person is kept,
-- marked with when).
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE agents ADD COLUMN deactivated_at BIGINT;
ALTER TABLE customers ADD COLUMN deactivated_at BIGINT;
