-- API keys (issue 7): a key is known by the SHA-256 of its text, which is
-- shown once at creation and never stored. The scope is fixed at creation
-- (no statement of Shoebox updates it); removing an account deletes its
-- keys, and every process drops them from its key table within a second.
CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_hash   bytea NOT NULL UNIQUE,
    scope      text NOT NULL CHECK (scope IN ('read', 'write', 'metrics')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user ON api_keys (user_id);
