-- Tag counters for the stats page (after 017's photo counters): counting
-- a million photos' tags by label on every request took a second.
--
-- tags.libs is its photo's set of libraries (photos.libs, copied when the
-- tag is written and when the photo's set changes); tag_counts holds, for
-- every set and label, how many tags there are. A scope's counts are the
-- sum over the sets that meet its libraries, plus the tags of photos only
-- an album shows (storage.TagCounts).

ALTER TABLE tags ADD COLUMN libs int[] NOT NULL DEFAULT '{}';
UPDATE tags t SET libs = p.libs FROM photos p WHERE p.id = t.photo_id AND p.libs <> '{}';

CREATE TABLE tag_counts (
    libs  int[] NOT NULL,
    label text NOT NULL,
    tags  bigint NOT NULL
);  -- rows of deltas, summed by readers and folded now and then (as 017's)

CREATE FUNCTION tags_libs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.libs := coalesce((SELECT libs FROM photos WHERE id = NEW.photo_id), '{}');
    RETURN NEW;
END $$;
CREATE TRIGGER tags_libs BEFORE INSERT OR UPDATE OF photo_id ON tags FOR EACH ROW EXECUTE FUNCTION tags_libs();

CREATE FUNCTION tag_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;  -- the statement's changes: (libs, label, n)
BEGIN
    IF TG_OP = 'INSERT' THEN
        changed := 'SELECT libs, label, 1 AS n FROM new_tags';
    ELSIF TG_OP = 'DELETE' THEN
        changed := 'SELECT libs, label, -1 AS n FROM old_tags';
    ELSE
        changed := 'SELECT libs, label, -1 AS n FROM old_tags UNION ALL SELECT libs, label, 1 FROM new_tags';
    END IF;
    EXECUTE 'INSERT INTO tag_counts AS c (libs, label, tags)
        SELECT libs, label, sum(n) FROM (' || changed || ') ch
        GROUP BY 1, 2 HAVING sum(n) <> 0';
    IF random() < 0.02 THEN
        PERFORM counters_compact();
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER tag_counts_inserted AFTER INSERT ON tags REFERENCING NEW TABLE AS new_tags
    FOR EACH STATEMENT EXECUTE FUNCTION tag_counts_apply();
CREATE TRIGGER tag_counts_updated AFTER UPDATE ON tags REFERENCING OLD TABLE AS old_tags NEW TABLE AS new_tags
    FOR EACH STATEMENT EXECUTE FUNCTION tag_counts_apply();
CREATE TRIGGER tag_counts_deleted AFTER DELETE ON tags REFERENCING OLD TABLE AS old_tags
    FOR EACH STATEMENT EXECUTE FUNCTION tag_counts_apply();

-- A photo's set of libraries changes: its tags follow.
CREATE FUNCTION tags_follow_libs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE tags t SET libs = n.libs
        FROM new_photos n JOIN old_photos o ON o.id = n.id
        WHERE t.photo_id = n.id AND n.libs IS DISTINCT FROM o.libs AND t.libs IS DISTINCT FROM n.libs;
    RETURN NULL;
END $$;
CREATE TRIGGER tags_follow_libs AFTER UPDATE ON photos REFERENCING OLD TABLE AS old_photos NEW TABLE AS new_photos
    FOR EACH STATEMENT EXECUTE FUNCTION tags_follow_libs();

-- Folding and rebuilding the photo counters does these too.
CREATE OR REPLACE FUNCTION counters_compact() RETURNS void LANGUAGE plpgsql AS $$
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
    WITH d AS (DELETE FROM tag_counts RETURNING *)
    INSERT INTO tag_counts (libs, label, tags)
        SELECT libs, label, sum(tags) FROM d GROUP BY 1, 2 HAVING sum(tags) <> 0;
END $$;

-- Rebuilding the photo counters rebuilds these too.
CREATE OR REPLACE FUNCTION photo_counts_rebuild() RETURNS void LANGUAGE plpgsql AS $$
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
    UPDATE tags t SET libs = p.libs FROM photos p WHERE p.id = t.photo_id AND t.libs IS DISTINCT FROM p.libs;
    DELETE FROM tag_counts;
    INSERT INTO tag_counts (libs, label, tags) SELECT libs, label, count(*) FROM tags GROUP BY 1, 2;
END $$;

INSERT INTO tag_counts (libs, label, tags) SELECT libs, label, count(*) FROM tags GROUP BY 1, 2;
