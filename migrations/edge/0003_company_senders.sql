-- A company's own sender address and name: emails to its customers come
-- from it, as if the desk were part of that company.
ALTER TABLE companies ADD COLUMN sender_email TEXT;
ALTER TABLE companies ADD COLUMN sender_name TEXT;
