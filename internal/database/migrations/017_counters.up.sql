-- Incremental counters for the stats page: at a million photos, counting
-- them (and grouping by year and camera) on every request took seconds.
--
-- photos.libs is the sorted set of libraries holding a photo's files (kept
-- by the files triggers below). photo_counts holds, for every set of
-- libraries, month, camera and damage, how many ready photos there are and
-- their bytes: a scope's figures are the sum over the sets that meet its
-- libraries (each photo is in exactly one set, so none is counted twice),
-- corrected for the few photos that only an album shows or the asker has
-- trashed (storage.Stats). library_counts holds each library's files.
-- Statement-level triggers add the changes of a statement as rows of
-- deltas: writers never update a shared row, so they never wait for each
-- other (nor deadlock) however many index at once; readers sum. Now and
-- then a statement (one at a time: a try-lock) folds the deltas into one
-- row per key.

ALTER TABLE photos ADD COLUMN libs int[] NOT NULL DEFAULT '{}';
UPDATE photos p SET libs = l.libs
    FROM (SELECT photo_id, array_agg(DISTINCT library_id ORDER BY library_id) AS libs
          FROM files WHERE photo_id IS NOT NULL GROUP BY photo_id) l
    WHERE l.photo_id = p.id;

CREATE TABLE photo_counts (
    libs         int[] NOT NULL,
    month        date NOT NULL,   -- of taken_at in UTC; '-infinity' when unknown
    camera_make  text NOT NULL,   -- '' when none
    camera_model text NOT NULL,
    damaged      boolean NOT NULL,
    photos       bigint NOT NULL,
    bytes        bigint NOT NULL
);

CREATE TABLE library_counts (
    library_id int NOT NULL REFERENCES libraries ON DELETE CASCADE,
    files      bigint NOT NULL
);
CREATE INDEX library_counts_library ON library_counts (library_id);

-- counters_compact folds the deltas into one row per key, when no other
-- statement is doing it (never waiting for one).
CREATE FUNCTION counters_compact() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_try_advisory_xact_lock(7061727) THEN
        RETURN;
    END IF;
    WITH d AS (DELETE FROM photo_counts RETURNING *)
    INSERT INTO photo_counts (libs, month, camera_make, camera_model, damaged, photos, bytes)
        SELECT libs, month, camera_make, camera_model, damaged, sum(photos), sum(bytes) FROM d
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(photos) <> 0 OR sum(bytes) <> 0;
    WITH d AS (DELETE FROM library_counts RETURNING *)
    INSERT INTO library_counts (library_id, files)
        SELECT library_id, sum(files) FROM d WHERE library_id IN (SELECT id FROM libraries)
        GROUP BY 1 HAVING sum(files) <> 0;
END $$;

-- photo_counts_rebuild recomputes every counter from the tables (used here
-- and by bulk loaders that skip triggers).
CREATE FUNCTION photo_counts_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE photos p SET libs = coalesce((SELECT array_agg(DISTINCT f.library_id ORDER BY f.library_id)
        FROM files f WHERE f.photo_id = p.id), '{}')
        WHERE p.libs IS DISTINCT FROM coalesce((SELECT array_agg(DISTINCT f.library_id ORDER BY f.library_id)
            FROM files f WHERE f.photo_id = p.id), '{}');
    DELETE FROM photo_counts;
    INSERT INTO photo_counts (libs, month, camera_make, camera_model, damaged, photos, bytes)
        SELECT libs, coalesce(date_trunc('month', taken_at AT TIME ZONE 'UTC')::date, '-infinity'),
            coalesce(camera_make, ''), coalesce(camera_model, ''), damage IS NOT NULL, count(*), sum(size)
        FROM photos WHERE state = 'ready' GROUP BY 1, 2, 3, 4, 5;
    DELETE FROM library_counts;
    INSERT INTO library_counts (library_id, files)
        SELECT l.id, (SELECT count(*) FROM files f WHERE f.library_id = l.id) FROM libraries l;
END $$;

CREATE FUNCTION photo_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO photo_counts AS c (libs, month, camera_make, camera_model, damaged, photos, bytes)
            SELECT libs, coalesce(date_trunc('month', taken_at AT TIME ZONE 'UTC')::date, '-infinity'),
                coalesce(camera_make, ''), coalesce(camera_model, ''), damage IS NOT NULL, count(*), sum(size)
            FROM new_photos WHERE state = 'ready' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO photo_counts AS c (libs, month, camera_make, camera_model, damaged, photos, bytes)
            SELECT libs, coalesce(date_trunc('month', taken_at AT TIME ZONE 'UTC')::date, '-infinity'),
                coalesce(camera_make, ''), coalesce(camera_model, ''), damage IS NOT NULL, -count(*), -sum(size)
            FROM old_photos WHERE state = 'ready' GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
            ;
    ELSE
        INSERT INTO photo_counts AS c (libs, month, camera_make, camera_model, damaged, photos, bytes)
            SELECT libs, month, mk, md, dmg, sum(n), sum(b) FROM (
                SELECT libs, coalesce(date_trunc('month', taken_at AT TIME ZONE 'UTC')::date, '-infinity') AS month,
                    coalesce(camera_make, '') AS mk, coalesce(camera_model, '') AS md, damage IS NOT NULL AS dmg,
                    -1 AS n, -size AS b
                FROM old_photos WHERE state = 'ready'
                UNION ALL
                SELECT libs, coalesce(date_trunc('month', taken_at AT TIME ZONE 'UTC')::date, '-infinity'),
                    coalesce(camera_make, ''), coalesce(camera_model, ''), damage IS NOT NULL, 1, size
                FROM new_photos WHERE state = 'ready') d
            GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0 OR sum(b) <> 0 ORDER BY 1, 2, 3, 4, 5
            ;
    END IF;
    IF random() < 0.02 THEN
        PERFORM counters_compact();
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER photo_counts_inserted AFTER INSERT ON photos REFERENCING NEW TABLE AS new_photos
    FOR EACH STATEMENT EXECUTE FUNCTION photo_counts_apply();
CREATE TRIGGER photo_counts_updated AFTER UPDATE ON photos REFERENCING OLD TABLE AS old_photos NEW TABLE AS new_photos
    FOR EACH STATEMENT EXECUTE FUNCTION photo_counts_apply();
CREATE TRIGGER photo_counts_deleted AFTER DELETE ON photos REFERENCING OLD TABLE AS old_photos
    FOR EACH STATEMENT EXECUTE FUNCTION photo_counts_apply();

-- Files: the photos they name get their set of libraries again (which
-- moves them between counters through the photos trigger), and the
-- libraries' file counts change.
CREATE FUNCTION files_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;  -- the statement's changes: (library_id, photo_id, n)
BEGIN
    IF TG_OP = 'INSERT' THEN
        changed := 'SELECT library_id, photo_id, 1 AS n FROM new_files';
    ELSIF TG_OP = 'DELETE' THEN
        changed := 'SELECT library_id, photo_id, -1 AS n FROM old_files';
    ELSE
        changed := 'SELECT library_id, photo_id, -1 AS n FROM old_files UNION ALL SELECT library_id, photo_id, 1 FROM new_files';
    END IF;
    EXECUTE 'INSERT INTO library_counts AS c (library_id, files)
        SELECT library_id, sum(n) FROM (' || changed || ') ch
        WHERE library_id IN (SELECT id FROM libraries)
        GROUP BY 1 HAVING sum(n) <> 0';
    EXECUTE 'UPDATE photos p SET libs = coalesce((SELECT array_agg(DISTINCT f.library_id ORDER BY f.library_id)
            FROM files f WHERE f.photo_id = p.id), ''{}'')
        WHERE p.id IN (SELECT photo_id FROM (' || changed || ') ch WHERE photo_id IS NOT NULL)
            AND p.libs IS DISTINCT FROM coalesce((SELECT array_agg(DISTINCT f.library_id ORDER BY f.library_id)
                FROM files f WHERE f.photo_id = p.id), ''{}'')';
    RETURN NULL;
END $$;

CREATE TRIGGER files_counts_inserted AFTER INSERT ON files REFERENCING NEW TABLE AS new_files
    FOR EACH STATEMENT EXECUTE FUNCTION files_counts_apply();
CREATE TRIGGER files_counts_updated AFTER UPDATE ON files REFERENCING OLD TABLE AS old_files NEW TABLE AS new_files
    FOR EACH STATEMENT EXECUTE FUNCTION files_counts_apply();
CREATE TRIGGER files_counts_deleted AFTER DELETE ON files REFERENCING OLD TABLE AS old_files
    FOR EACH STATEMENT EXECUTE FUNCTION files_counts_apply();

-- The failures figure: files that could not be read, photos that failed.
CREATE INDEX files_error ON files (library_id) WHERE error IS NOT NULL;
CREATE INDEX photos_failed ON photos (id) WHERE state = 'failed';

SELECT photo_counts_rebuild();
