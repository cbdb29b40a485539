-- The durable queue moves to River: its tables (river_job, river_leader,
-- ...) are created by rivermigrate right after Shoebox's own migrations.
-- The live jobs of the old queue wait in legacy_jobs until the first
-- process that starts carries them over into river_job (jobs.CarryOver,
-- which then drops legacy_jobs); finished ones are dropped now.
DELETE FROM jobs WHERE state NOT IN ('pending', 'running');
ALTER TABLE jobs RENAME TO legacy_jobs;
DROP TABLE IF EXISTS workers;

-- Live River clients (worker processes) and their heartbeat. River has no
-- heartbeat of its own (it rescues a running job only after a fixed time):
-- a running job whose client (the last of its attempted_by) is silent here
-- belongs to a process that died, and is made available again at once.
CREATE TABLE IF NOT EXISTS job_clients (
    id           text PRIMARY KEY,
    hostname     text NOT NULL,
    pid          int NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
