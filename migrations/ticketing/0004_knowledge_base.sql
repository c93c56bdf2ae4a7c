-- The public knowledge base: each tenant's export template, and the
-- articles published from tickets (one per ticket; publishing again
-- replaces it).
CREATE TABLE kb_templates (
    tenant_id TEXT PRIMARY KEY,
    template TEXT NOT NULL
);

CREATE TABLE kb_articles (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    reference TEXT NOT NULL,
    title TEXT NOT NULL,
    title_folded TEXT NOT NULL,
    html TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    UNIQUE (tenant_id, ticket_id)
);
CREATE INDEX kb_articles_by_tenant ON kb_articles (tenant_id, id);
