-- +goose Up
-- Times are Unix milliseconds (UTC); period_start is Unix seconds of the
-- start of the period the usage columns belong to.
CREATE TABLE accounts (
    id               INTEGER PRIMARY KEY,
    name             TEXT    NOT NULL UNIQUE,
    query_total      INTEGER NOT NULL CHECK (query_total >= 0),
    mutation_total   INTEGER NOT NULL CHECK (mutation_total >= 0),
    credits          INTEGER NOT NULL CHECK (credits >= 0),
    period           TEXT    NOT NULL CHECK (period IN ('monthly', 'none')),
    created_at       INTEGER NOT NULL,
    token_digest     BLOB UNIQUE,
    token_hint       TEXT,
    token_created_at INTEGER
);

CREATE TABLE keys (
    id                INTEGER PRIMARY KEY,
    account_id        INTEGER NOT NULL REFERENCES accounts (id),
    name              TEXT    NOT NULL,
    client_id         TEXT    NOT NULL UNIQUE,
    secret_digest     BLOB    NOT NULL,
    secret_hint       TEXT    NOT NULL,
    secret_rotated_at INTEGER NOT NULL,
    permissions       INTEGER NOT NULL CHECK (permissions BETWEEN 1 AND 7),
    query_alloc       INTEGER NOT NULL CHECK (query_alloc >= 0),
    mutation_alloc    INTEGER NOT NULL CHECK (mutation_alloc >= 0),
    query_used        INTEGER NOT NULL DEFAULT 0,
    mutation_used     INTEGER NOT NULL DEFAULT 0,
    credits_used      INTEGER NOT NULL DEFAULT 0,
    period_start      INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    last_used_at      INTEGER,
    status            TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    revoked_at        INTEGER,
    keeps_allocation  INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX keys_active_name ON keys (account_id, name) WHERE status = 'active';
CREATE INDEX keys_by_created ON keys (account_id, created_at, id);
CREATE INDEX keys_by_name ON keys (account_id, name, id);

CREATE TABLE usage_days (
    key_id     INTEGER NOT NULL REFERENCES keys (id),
    day        TEXT    NOT NULL,
    queries    INTEGER NOT NULL DEFAULT 0,
    mutations  INTEGER NOT NULL DEFAULT 0,
    credits    INTEGER NOT NULL DEFAULT 0,
    denied_401 INTEGER NOT NULL DEFAULT 0,
    denied_403 INTEGER NOT NULL DEFAULT 0,
    denied_429 INTEGER NOT NULL DEFAULT 0,
    denied_402 INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, day)
) WITHOUT ROWID;

-- Units consumed by verifications that are not yet folded into keys and
-- usage_days: one row per group commit, its deltas a JSON array of
-- [key_id, day, queries, mutations, credits, last_used_ms, period_start].
-- Appending one row is far cheaper than updating a row per key; readers
-- add what is pending, and writers fold it in every second.
CREATE TABLE pending_usage (
    id     INTEGER PRIMARY KEY,
    deltas TEXT NOT NULL
);

CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    key_id     INTEGER REFERENCES keys (id),
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    details    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_account ON audit_events (account_id, id);
CREATE INDEX audit_by_key ON audit_events (key_id, id);

-- The audit log is append-only.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE ssh_keys (
    fingerprint TEXT    PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id),
    public_key  TEXT    NOT NULL,
    comment     TEXT    NOT NULL DEFAULT '',
    added_at    INTEGER NOT NULL
);
CREATE INDEX ssh_keys_by_account ON ssh_keys (account_id);

-- +goose Down
DROP TABLE ssh_keys;
DROP TABLE pending_usage;
DROP TABLE audit_events;
DROP TABLE usage_days;
DROP TABLE keys;
DROP TABLE accounts;
