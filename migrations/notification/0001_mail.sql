-- The notification service's own store: each tenant's email settings and
-- templates, its copy of the directory and of the tickets it writes about
-- (from the edge's and ticketing's events), and every email it sends.

CREATE TABLE mail_settings (
    tenant_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- eDocs: one kind of email in one language.
CREATE TABLE mail_templates (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, language)
);

-- The directory as the edge announced it: the entry as JSON, with what
-- lookups need beside it (an agent's team, a customer's address).
CREATE TABLE mail_directory (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    entry_type TEXT NOT NULL,
    team_id TEXT,
    email TEXT,
    entry TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX mail_directory_by_team ON mail_directory (tenant_id, team_id);
CREATE INDEX mail_directory_by_email ON mail_directory (tenant_id, email);

-- What notification knows of each ticket, as JSON, newest version kept.
CREATE TABLE mail_tickets (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    reference TEXT NOT NULL,
    version BIGINT NOT NULL,
    ticket TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX mail_tickets_by_reference ON mail_tickets (tenant_id, reference);

-- Every email, rendered when its event was handled (so what goes out is
-- what the ticket was then), and its delivery. `next_attempt_at` is also
-- the lease a sender holds while it delivers.
CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    ticket_id TEXT,
    kind TEXT NOT NULL,
    language TEXT NOT NULL,
    to_email TEXT NOT NULL,
    to_name TEXT,
    from_email TEXT NOT NULL,
    from_name TEXT,
    reply_to_email TEXT,
    reply_to_name TEXT,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    message_id TEXT NOT NULL,
    in_reply_to TEXT,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX emails_due ON emails (next_attempt_at) WHERE status = 'queued';
CREATE INDEX emails_by_ticket ON emails (tenant_id, ticket_id, created_at);
CREATE INDEX emails_by_message_id ON emails (message_id);
