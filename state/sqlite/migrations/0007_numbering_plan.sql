-- A subscriber's number is a key of the configured numbering plan (state/msisdn.py): a
-- country code and a national number, E.164 digits (7 to 15, no leading 0), no longer +375
-- alone. SQLite cannot change a CHECK in place, so the table is built anew with the same
-- columns in the same order, its rows and its index carried over (no table refers to it).
CREATE TABLE subscribers_new (
    msisdn              TEXT PRIMARY KEY CHECK (
        length(msisdn) BETWEEN 7 AND 15 AND msisdn GLOB '[1-9]*' AND msisdn NOT GLOB '*[^0-9]*'
    ),
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
    version             INTEGER NOT NULL DEFAULT 0,
    role                TEXT CHECK (role IN ('administrator', 'supervisor')),
    puk_registration    INTEGER NOT NULL DEFAULT 0,
    temp_password_hash  TEXT
        CHECK (temp_password_hash IS NULL OR temp_password_hash LIKE '$argon2id$%'),
    temp_password_expires_at REAL
);
INSERT INTO subscribers_new (
    msisdn, client_id, lang, closed_by, closed_reason, closed_at, puk_digest, puk_failures,
    puk_locked_at, password_hash, password_changed_at, version, role, puk_registration,
    temp_password_hash, temp_password_expires_at
)
SELECT
    msisdn, client_id, lang, closed_by, closed_reason, closed_at, puk_digest, puk_failures,
    puk_locked_at, password_hash, password_changed_at, version, role, puk_registration,
    temp_password_hash, temp_password_expires_at
FROM subscribers;
DROP TABLE subscribers;
ALTER TABLE subscribers_new RENAME TO subscribers;
CREATE INDEX subscribers_client ON subscribers (client_id);
