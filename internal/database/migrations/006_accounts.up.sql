-- Accounts, sessions and the audit log (issue 7, step 1).

CREATE TABLE users (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9._-]{1,32}$'),
    password   text NOT NULL,           -- Argon2id PHC string
    admin      boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A session is known by the SHA-256 of its token; the token itself is never
-- stored.
CREATE TABLE sessions (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen  timestamptz NOT NULL DEFAULT now(),
    address    text NOT NULL DEFAULT '',
    user_agent text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every ended session, kept a while after its row is gone: each process
-- polls the recent ones every second and refuses their media grants
-- (which are checked without SQL). No foreign key: removing an account
-- deletes its sessions, and their revocations must outlive them.
CREATE TABLE session_revocations (
    session_id bigint PRIMARY KEY,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX session_revocations_at ON session_revocations (revoked_at);

-- Settings shared by every process on this database (the media-grant key).
CREATE TABLE settings (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    event    text NOT NULL,   -- signin, signin-failed, signout, password, user-add, user-remove, session-revoke, setup
    username text NOT NULL DEFAULT '',
    address  text NOT NULL DEFAULT '',
    detail   text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
