-- Shoebox's core schema: libraries, the files found in them, the photos
-- those files hold (one photo per distinct content), and the durable job queue.
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE libraries (
    id   serial PRIMARY KEY,
    root text NOT NULL UNIQUE
);

-- A photo is a distinct content; its id is derived from the content hash, so
-- thumbnails can be found on disk from the id alone (no query to serve them).
CREATE TABLE photos (
    id            text PRIMARY KEY,
    hash          bytea NOT NULL UNIQUE,
    size          bigint NOT NULL,
    state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ready', 'failed')),
    error         text,
    format        text,
    width         int,
    height        int,
    taken_at      timestamptz,
    taken_offset  int,          -- minutes east of UTC, when EXIF says
    taken_source  text,         -- 'exif' or 'file' (modification time)
    camera_make   text,
    camera_model  text,
    lens          text,
    exposure      text,
    fnumber       real,
    iso           int,
    focal_length  real,
    lat           double precision,
    lon           double precision,
    alt           double precision,
    orientation   smallint,
    thumb_width   int,
    thumb_height  int,
    placeholder   text,
    meta_text     text NOT NULL DEFAULT '',  -- searchable words from metadata
    search_text   text NOT NULL DEFAULT '',  -- meta_text + the photo's paths, lower-cased
    indexed_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_gallery ON photos (taken_at DESC, id DESC) WHERE state = 'ready';
CREATE INDEX photos_search ON photos USING gin (search_text gin_trgm_ops);

-- A file is a path in a library. Several files may hold the same photo.
CREATE TABLE files (
    library_id int NOT NULL REFERENCES libraries ON DELETE CASCADE,
    rel_path   text NOT NULL,
    photo_id   text REFERENCES photos ON DELETE SET NULL,
    size       bigint NOT NULL,
    mtime      timestamptz NOT NULL,
    error      text,            -- why the file could not be read, when it couldn't
    PRIMARY KEY (library_id, rel_path)
);
CREATE INDEX files_photo ON files (photo_id);

-- The durable queue. A job is claimed by a worker with a lease; a worker that
-- dies (kill -9) stops renewing its heartbeat and its jobs are taken over.
CREATE TABLE workers (
    id           uuid PRIMARY KEY,
    hostname     text NOT NULL,
    pid          int NOT NULL,
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    key          text NOT NULL,
    args         jsonb NOT NULL DEFAULT '{}',
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'failed')),
    priority     smallint NOT NULL DEFAULT 1,
    attempts     int NOT NULL DEFAULT 0,
    max_attempts int NOT NULL DEFAULT 5,
    run_at       timestamptz NOT NULL DEFAULT now(),
    worker_id    uuid,
    result       jsonb,
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
-- At most one live job per (kind, key): enqueueing twice is harmless.
CREATE UNIQUE INDEX jobs_live_key ON jobs (kind, key) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_ready ON jobs (priority, run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_running ON jobs (worker_id) WHERE state = 'running';
