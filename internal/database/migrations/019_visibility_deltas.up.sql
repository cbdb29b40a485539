-- The visibility epoch (008) as rows of deltas, as 017's counters.
--
-- Every change that can narrow access (a library, file, share, account,
-- album member or album photo added or removed) used to UPDATE the one
-- row of visibility, so it held that row's lock until it committed: all
-- such transactions waited for each other, and two of them deadlocked
-- whenever one took another lock after its bump that the other held
-- before its own (AddFirstAdmin's LOCK TABLE users after the album and
-- library changes of its transaction, against a transaction that had added
-- a user and was waiting for the row; two editors of the same album).
-- Now a change inserts a row into visibility_bumps: writers never update
-- a shared row, so they never wait for each other. The epoch is
-- visibility.epoch plus the bumps' sum (visibility_epoch()): it moves
-- exactly when a transaction that bumped it commits, as before. Now and
-- then a bump (one at a time: a try-lock, never waiting) folds the
-- committed bumps into visibility.epoch, which leaves the sum as it was.

CREATE TABLE visibility_bumps (n bigint NOT NULL);

CREATE FUNCTION visibility_epoch() RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT (SELECT epoch FROM visibility) + (SELECT coalesce(sum(n), 0) FROM visibility_bumps)::bigint
$$;

CREATE FUNCTION visibility_move() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO visibility_bumps (n) VALUES (1);
    IF random() < 0.05 AND pg_try_advisory_xact_lock(7061728) THEN
        WITH d AS (DELETE FROM visibility_bumps RETURNING n)
        UPDATE visibility SET epoch = epoch + (SELECT coalesce(sum(n), 0) FROM d);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION visibility_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM visibility_move();
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION visibility_bump_always() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM visibility_move();
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION files_repointed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_files o JOIN new_files n USING (library_id, rel_path)
               WHERE o.photo_id IS NOT NULL AND o.photo_id IS DISTINCT FROM n.photo_id) THEN
        PERFORM visibility_move();
    END IF;
    RETURN NULL;
END $$;
