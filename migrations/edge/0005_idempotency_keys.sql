-- What each Idempotency-Key was first sent with, so the key sent again
-- with another request is refused (422) instead of answered with the
-- first request's result. `owner` is a digest of the caller's credentials,
-- `fingerprint` one of the method, path and body.
CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, idempotency_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
