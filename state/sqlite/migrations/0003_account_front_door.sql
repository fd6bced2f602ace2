-- The account front door (issue 4): registration options, roles, temporary passwords,
-- client identity and contacts, web sessions and login challenges.

-- A subscriber's role in its client's account (seed 001 §1.2) and its options.
ALTER TABLE subscribers ADD COLUMN role TEXT CHECK (role IN ('administrator', 'supervisor'));
ALTER TABLE subscribers ADD COLUMN puk_registration INTEGER NOT NULL DEFAULT 0;
-- The e-mailed temporary password: argon2id only, single use, with its deadline.
ALTER TABLE subscribers ADD COLUMN temp_password_hash TEXT
    CHECK (temp_password_hash IS NULL OR temp_password_hash LIKE '$argon2id$%');
ALTER TABLE subscribers ADD COLUMN temp_password_expires_at REAL;

-- The client's account number, its identity number (passport / UNP) as a keyed digest,
-- its e-mail and single contact number (§1.6), and the account password that replaces
-- the identity number at the first account-number login (§1.5).
ALTER TABLE clients ADD COLUMN account TEXT;
ALTER TABLE clients ADD COLUMN identity_digest BLOB CHECK (identity_digest IS NULL OR length(identity_digest) = 32);
ALTER TABLE clients ADD COLUMN email TEXT;
ALTER TABLE clients ADD COLUMN contact_msisdn TEXT;
ALTER TABLE clients ADD COLUMN activity TEXT CHECK (activity IN ('craft', 'self_employed'));
ALTER TABLE clients ADD COLUMN subscription_fee INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN account_password_hash TEXT
    CHECK (account_password_hash IS NULL OR account_password_hash LIKE '$argon2id$%');
ALTER TABLE clients ADD COLUMN account_password_changed_at REAL;
ALTER TABLE clients ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX clients_account ON clients (account) WHERE account IS NOT NULL;
CREATE UNIQUE INDEX clients_email ON clients (email) WHERE email IS NOT NULL;

-- Web sessions by the keyed digest of their token (the token itself is never stored).
CREATE TABLE web_sessions (
    digest         BLOB PRIMARY KEY CHECK (length(digest) = 32),
    msisdn         TEXT NOT NULL,
    method         TEXT NOT NULL,
    must_change    INTEGER NOT NULL DEFAULT 0,
    credential_at  REAL,
    created_at     REAL NOT NULL,
    last_seen_at   REAL NOT NULL,
    ended_at       REAL,
    end_reason     TEXT,
    version        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX web_sessions_msisdn ON web_sessions (msisdn, ended_at);

-- The first step of a two-step login (account number or e-mail): an SMS code is on its way.
CREATE TABLE login_challenges (
    digest       BLOB PRIMARY KEY CHECK (length(digest) = 32),
    msisdn       TEXT NOT NULL,
    method       TEXT NOT NULL,
    must_change  INTEGER NOT NULL DEFAULT 0,
    created_at   REAL NOT NULL,
    expires_at   REAL NOT NULL,
    used_at      REAL
);

CREATE INDEX audit_at ON audit (at);
