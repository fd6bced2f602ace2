-- One-time codes, their guards and sends; outbox sending state.
-- A code is stored as an HMAC under the pepper, never in plain text.

-- One live code per number and purpose: a resend replaces the row (and its attempts).
CREATE TABLE otp_codes (
    msisdn      TEXT NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('login', 'register', 'email-login')),
    digest      BLOB NOT NULL CHECK (length(digest) = 32),
    created_at  REAL NOT NULL,
    expires_at  REAL NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    used_at     REAL,
    PRIMARY KEY (msisdn, purpose)
);

-- Per number: consecutive wrong codes (a resend never resets them) and the lock they cause.
-- Every code operation on a number advances `version`, which serialises them exactly.
CREATE TABLE otp_guards (
    msisdn        TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until  REAL,
    version       INTEGER NOT NULL DEFAULT 0
);

-- Every code sent, for the per-number and global send limits.
CREATE TABLE code_sends (
    id       INTEGER PRIMARY KEY,
    msisdn   TEXT NOT NULL,
    purpose  TEXT NOT NULL,
    channel  TEXT NOT NULL,
    at       REAL NOT NULL
);
CREATE INDEX code_sends_msisdn ON code_sends (msisdn, at);
CREATE INDEX code_sends_at ON code_sends (at);

-- MO messages already answered, by the SMSC's message id: a redelivery is acknowledged,
-- not processed again (Jasmin retries an MO whose acknowledgement it did not get).
CREATE TABLE mo_receipts (
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    at          REAL NOT NULL,
    PRIMARY KEY (source, message_id)
);

-- A message not sent by `expires_at` is dropped (a code is worthless after 5 minutes).
ALTER TABLE outbox ADD COLUMN expires_at REAL;
ALTER TABLE outbox ADD COLUMN provider_ref TEXT;
ALTER TABLE outbox ADD COLUMN delivery TEXT;
ALTER TABLE outbox ADD COLUMN updated_at REAL;
CREATE INDEX outbox_provider_ref ON outbox (provider_ref);
