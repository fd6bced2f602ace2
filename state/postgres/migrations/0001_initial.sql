-- The whole schema of the PostgreSQL backend, as SQLite's migrations 0001–0005 leave it.
--
-- Types: timestamps are `double precision` seconds since the epoch, because the core's
-- values (state/models.py) carry float epochs and every comparison the store makes (idle,
-- expiry, send windows, leases) is arithmetic on them: a float8 round-trips a Python float
-- exactly, where timestamptz would round to microseconds and need a conversion on every
-- read and write. Digests are `bytea` (32 bytes: HMAC-SHA256 under a pepper kept outside
-- the database); session data, last replies and audit details are `jsonb`; flags are
-- `boolean`; row ids are `bigint` identities. Enumerations are text with CHECK
-- constraints, exactly as in SQLite, so both backends accept the same values.
-- Secrets are never stored in plain text: password hashes are argon2id only.

CREATE TABLE clients (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ref                         text NOT NULL UNIQUE,
    kind                        text NOT NULL
        CHECK (kind IN ('individual', 'legal_entity', 'sole_proprietor')),
    name                        text NOT NULL,
    account                     text,
    identity_digest             bytea
        CHECK (identity_digest IS NULL OR octet_length(identity_digest) = 32),
    email                       text,
    contact_msisdn              text,
    activity                    text CHECK (activity IN ('craft', 'self_employed')),
    subscription_fee            boolean NOT NULL DEFAULT false,
    account_password_hash       text
        CHECK (account_password_hash IS NULL OR account_password_hash LIKE '$argon2id$%'),
    account_password_changed_at double precision,
    version                     integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX clients_account ON clients (account) WHERE account IS NOT NULL;
CREATE UNIQUE INDEX clients_email ON clients (email) WHERE email IS NOT NULL;
-- client_by(email=…) compares case-insensitively.
CREATE INDEX clients_email_lower ON clients (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE subscribers (
    msisdn                   text PRIMARY KEY CHECK (msisdn ~ '^375[0-9]{9}$'),
    client_id                bigint NOT NULL REFERENCES clients (id),
    lang                     text NOT NULL DEFAULT 'ru' CHECK (lang IN ('ru', 'en')),
    closed_by                text CHECK (closed_by IN ('subscriber', 'organisation', 'operator')),
    closed_reason            text,
    closed_at                double precision,
    puk_digest               bytea NOT NULL CHECK (octet_length(puk_digest) = 32),
    puk_failures             integer NOT NULL DEFAULT 0 CHECK (puk_failures >= 0),
    puk_locked_at            double precision,
    password_hash            text CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    password_changed_at      double precision,
    version                  integer NOT NULL DEFAULT 0,
    role                     text CHECK (role IN ('administrator', 'supervisor')),
    puk_registration         boolean NOT NULL DEFAULT false,
    -- The e-mailed temporary password: argon2id only, single use, with its deadline.
    temp_password_hash       text
        CHECK (temp_password_hash IS NULL OR temp_password_hash LIKE '$argon2id$%'),
    temp_password_expires_at double precision
);
CREATE INDEX subscribers_client ON subscribers (client_id);

CREATE TABLE audit (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       double precision NOT NULL,
    msisdn   text NOT NULL,
    action   text NOT NULL,
    actor    text NOT NULL,
    channel  text NOT NULL,
    detail   jsonb NOT NULL DEFAULT '{}'
);
-- audit_log reads one number's entries newest first (by id), or everything since a time.
CREATE INDEX audit_msisdn ON audit (msisdn, id);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      double precision NOT NULL,
    msisdn          text NOT NULL,
    kind            text NOT NULL,
    body            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at double precision,
    sent_at         double precision,
    result          text,
    -- A message not sent by `expires_at` is dropped (a code is worthless after 5 minutes).
    expires_at      double precision,
    provider_ref    text,
    delivery        text,
    updated_at      double precision
);
-- claim_outbox looks only at pending messages that are due; sent ones are history.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_provider_ref ON outbox (provider_ref) WHERE provider_ref IS NOT NULL;

CREATE TABLE ussd_sessions (
    id            text PRIMARY KEY,
    msisdn        text NOT NULL,
    service       text NOT NULL,
    state         text NOT NULL,
    lang          text NOT NULL,
    data          jsonb NOT NULL DEFAULT '{}',
    started_at    double precision NOT NULL,
    updated_at    double precision NOT NULL,
    hop           integer NOT NULL,
    last_hop_key  text NOT NULL,
    last_reply    jsonb NOT NULL,
    ended_at      double precision,
    end_reason    text
);
-- The sweepers run every few seconds: let them find live sessions past their time and old
-- ended ones without scanning every session kept for repeated hops (SQLite's 0004).
CREATE INDEX ussd_sessions_live_updated ON ussd_sessions (updated_at) WHERE ended_at IS NULL;
CREATE INDEX ussd_sessions_live_started ON ussd_sessions (started_at) WHERE ended_at IS NULL;
CREATE INDEX ussd_sessions_ended ON ussd_sessions (ended_at) WHERE ended_at IS NOT NULL;

-- One live code per number and purpose: a resend replaces the row (and its attempts).
CREATE TABLE otp_codes (
    msisdn      text NOT NULL,
    purpose     text NOT NULL CHECK (purpose IN ('login', 'register', 'email-login')),
    digest      bytea NOT NULL CHECK (octet_length(digest) = 32),
    created_at  double precision NOT NULL,
    expires_at  double precision NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     double precision,
    PRIMARY KEY (msisdn, purpose)
);

-- Per key (a number, or `password:<number>` …): consecutive failures and the lock they
-- cause. Every operation on a key advances `version`, which serialises them exactly.
CREATE TABLE otp_guards (
    msisdn        text PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until  double precision,
    version       integer NOT NULL DEFAULT 0
);

-- Every code sent, for the per-number and global send limits.
CREATE TABLE code_sends (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    msisdn   text NOT NULL,
    purpose  text NOT NULL,
    channel  text NOT NULL,
    at       double precision NOT NULL
);
CREATE INDEX code_sends_msisdn ON code_sends (msisdn, at);
CREATE INDEX code_sends_at ON code_sends (at);

-- MO messages already answered, by the SMSC's message id: a redelivery is acknowledged,
-- not processed again.
CREATE TABLE mo_receipts (
    source      text NOT NULL,
    message_id  text NOT NULL,
    at          double precision NOT NULL,
    PRIMARY KEY (source, message_id)
);

-- Web sessions by the keyed digest of their token (the token itself is never stored).
CREATE TABLE web_sessions (
    digest         bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    msisdn         text NOT NULL,
    method         text NOT NULL,
    must_change    boolean NOT NULL DEFAULT false,
    credential_at  double precision,
    created_at     double precision NOT NULL,
    last_seen_at   double precision NOT NULL,
    ended_at       double precision,
    end_reason     text,
    version        integer NOT NULL DEFAULT 0
);
-- A password change ends every live session of a number.
CREATE INDEX web_sessions_live_msisdn ON web_sessions (msisdn) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_live_seen ON web_sessions (last_seen_at) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_live_created ON web_sessions (created_at) WHERE ended_at IS NULL;
CREATE INDEX web_sessions_ended ON web_sessions (ended_at) WHERE ended_at IS NOT NULL;

-- The first step of a two-step login (account number or e-mail): an SMS code is on its way.
CREATE TABLE login_challenges (
    digest       bytea PRIMARY KEY CHECK (octet_length(digest) = 32),
    msisdn       text NOT NULL,
    method       text NOT NULL,
    must_change  boolean NOT NULL DEFAULT false,
    created_at   double precision NOT NULL,
    expires_at   double precision NOT NULL,
    used_at      double precision
);
CREATE INDEX login_challenges_expires ON login_challenges (expires_at);
