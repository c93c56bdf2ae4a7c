-- The transactional outbox and the idempotent inbox every service keeps in
-- its own database (DESIGN.md section 3).

-- Events written in the same transaction as the state change; the relay
-- deletes a row only after the broker confirmed it.
CREATE TABLE outbox (
    message_id TEXT PRIMARY KEY,
    routing_key TEXT NOT NULL,
    envelope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0
);

-- Every message a consumer has processed, recorded in the same transaction as
-- its effect, with the reply it gave so a redelivered request gets the same
-- answer.
CREATE TABLE inbox (
    consumer TEXT NOT NULL,
    message_id TEXT NOT NULL,
    reply TEXT,
    processed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, message_id)
);
