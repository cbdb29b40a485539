-- Libraries belong to people (issue 7): each has an owner and may be
-- shared with other accounts. A library without an owner (made by --library
-- before any account existed, or whose owner was removed) belongs to the
-- first admin.
ALTER TABLE libraries ADD COLUMN owner_id bigint REFERENCES users(id) ON DELETE SET NULL;

CREATE TABLE library_shares (
    library_id int NOT NULL REFERENCES libraries ON DELETE CASCADE,
    user_id    bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (library_id, user_id)
);
CREATE INDEX library_shares_user ON library_shares (user_id);

-- Who may see a photo is held in memory by every serving process (media
-- routes run no SQL) and kept fresh by a poll each second:
--  * files.xid is the transaction that last gave a file its photo: the
--    poll reads the files written since the oldest transaction still
--    running at its previous round (pg_snapshot_xmin), so a slow commit
--    is never skipped;
--  * visibility.epoch moves whenever access can shrink (a file removed or
--    pointed at another photo, a library removed or given to someone
--    else, a share ended, an account removed or its role changed): the
--    poll then reloads everything.
ALTER TABLE files ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX files_xid ON files (xid);

CREATE TABLE visibility (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    epoch    bigint NOT NULL
);
INSERT INTO visibility (epoch) VALUES (1);

-- Statement triggers fire for statements that changed no row too (a scan
-- ensuring its library exists, removing no file): the bump is only for
-- rows changed, seen through the statement's transition table.
CREATE FUNCTION visibility_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        UPDATE visibility SET epoch = epoch + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION visibility_bump_always() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE visibility SET epoch = epoch + 1;
    RETURN NULL;
END $$;

CREATE FUNCTION files_xid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.photo_id IS DISTINCT FROM OLD.photo_id OR NEW.library_id <> OLD.library_id THEN
        NEW.xid := pg_current_xact_id();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER files_xid BEFORE UPDATE ON files FOR EACH ROW EXECUTE FUNCTION files_xid();

-- A file pointed away from a photo narrows access.
CREATE FUNCTION files_repointed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_files o JOIN new_files n USING (library_id, rel_path)
               WHERE o.photo_id IS NOT NULL AND o.photo_id IS DISTINCT FROM n.photo_id) THEN
        UPDATE visibility SET epoch = epoch + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER files_repointed AFTER UPDATE ON files REFERENCING OLD TABLE AS old_files NEW TABLE AS new_files
    FOR EACH STATEMENT EXECUTE FUNCTION files_repointed();
CREATE TRIGGER files_deleted AFTER DELETE ON files REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER libraries_added AFTER INSERT ON libraries REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER libraries_updated AFTER UPDATE ON libraries REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER libraries_deleted AFTER DELETE ON libraries REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER library_shares_added AFTER INSERT ON library_shares REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER library_shares_deleted AFTER DELETE ON library_shares REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER users_added AFTER INSERT ON users REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER users_deleted AFTER DELETE ON users REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER users_role AFTER UPDATE OF admin ON users
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump_always();

-- The libraries that exist now belong to the first admin, if there is one.
UPDATE libraries SET owner_id = (SELECT min(id) FROM users WHERE admin) WHERE owner_id IS NULL;
