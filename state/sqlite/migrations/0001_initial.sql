-- Clients, subscribers, audit, outbox and USSD sessions.
-- Secrets are never stored in plain text: puk_digest is HMAC-SHA256 under a pepper kept
-- outside the database, password_hash is argon2id.
CREATE TABLE clients (
    id          INTEGER PRIMARY KEY,
    ref         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('individual', 'legal_entity', 'sole_proprietor')),
    name        TEXT NOT NULL
);

CREATE TABLE subscribers (
    msisdn              TEXT PRIMARY KEY CHECK (length(msisdn) = 12 AND msisdn GLOB '375[0-9]*'),
    client_id           INTEGER NOT NULL REFERENCES clients (id),
    lang                TEXT NOT NULL DEFAULT 'ru' CHECK (lang IN ('ru', 'en')),
    closed_by           TEXT CHECK (closed_by IN ('subscriber', 'organisation', 'operator')),
    closed_reason       TEXT,
    closed_at           REAL,
    puk_digest          BLOB NOT NULL CHECK (length(puk_digest) = 32),
    puk_failures        INTEGER NOT NULL DEFAULT 0 CHECK (puk_failures >= 0),
    puk_locked_at       REAL,
    password_hash       TEXT CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    password_changed_at REAL,
    version             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX subscribers_client ON subscribers (client_id);

CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    msisdn   TEXT NOT NULL,
    action   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    channel  TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_msisdn ON audit (msisdn, at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    created_at      REAL NOT NULL,
    msisdn          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL,
    sent_at         REAL,
    result          TEXT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);

CREATE TABLE ussd_sessions (
    id            TEXT PRIMARY KEY,
    msisdn        TEXT NOT NULL,
    service       TEXT NOT NULL,
    state         TEXT NOT NULL,
    lang          TEXT NOT NULL,
    data          TEXT NOT NULL DEFAULT '{}',
    started_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    hop           INTEGER NOT NULL,
    last_hop_key  TEXT NOT NULL,
    last_reply    TEXT NOT NULL,
    ended_at      REAL,
    end_reason    TEXT
);
CREATE INDEX ussd_sessions_updated ON ussd_sessions (updated_at);
