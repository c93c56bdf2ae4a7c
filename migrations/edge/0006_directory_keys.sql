-- A tenant has one company of a name and one customer at an address, in
-- any case: the keys are the name and address in lower case (written by the
-- edge, for all of Unicode), unique per tenant; they are also what lists
-- search. Rows from before are keyed here (SQLite folds ASCII only), and of
-- two that already shared a key, the later one's key takes its id, so the
-- index holds without losing either.
ALTER TABLE companies ADD COLUMN name_key TEXT;
UPDATE companies SET name_key = LOWER(name);
UPDATE companies SET name_key = name_key || ' ' || id WHERE EXISTS (
    SELECT 1 FROM companies c
    WHERE c.tenant_id = companies.tenant_id AND LOWER(c.name) = companies.name_key
      AND c.id < companies.id
);
CREATE UNIQUE INDEX companies_by_name ON companies (tenant_id, name_key);

ALTER TABLE customers ADD COLUMN name_key TEXT;
UPDATE customers SET name_key = LOWER(name);
ALTER TABLE customers ADD COLUMN email_key TEXT;
UPDATE customers SET email_key = LOWER(email) WHERE email IS NOT NULL;
UPDATE customers SET email_key = email_key || ' ' || id WHERE email_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM customers c
    WHERE c.tenant_id = customers.tenant_id AND LOWER(c.email) = customers.email_key
      AND c.id < customers.id
);
CREATE UNIQUE INDEX customers_by_email ON customers (tenant_id, email_key);
