-- Albums (issue 8): a person's named set of photos, shared with other
-- accounts as viewer or editor. owner_id and added_by have no foreign key:
-- 0 is the single local user of the no-account mode, whose albums the
-- first admin adopts when created (storage). A removed account's albums go
-- with it (trigger below).
CREATE TABLE albums (
    id          bigserial PRIMARY KEY,
    owner_id    bigint NOT NULL,
    name        text NOT NULL CHECK (name <> '' AND length(name) <= 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    cover_id    text REFERENCES photos(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX albums_owner ON albums (owner_id);

-- A photo deleted from the library leaves every album.
CREATE TABLE album_photos (
    album_id bigint NOT NULL REFERENCES albums ON DELETE CASCADE,
    photo_id text NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    added_at timestamptz NOT NULL DEFAULT now(),
    added_by bigint NOT NULL,
    PRIMARY KEY (album_id, photo_id)
);
CREATE INDEX album_photos_photo ON album_photos (photo_id);

CREATE TABLE album_members (
    album_id bigint NOT NULL REFERENCES albums ON DELETE CASCADE,
    user_id  bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role     text NOT NULL CHECK (role IN ('viewer', 'editor')),
    PRIMARY KEY (album_id, user_id)
);
CREATE INDEX album_members_user ON album_members (user_id);

-- A photo in an album is visible to its owner and members, even outside
-- their libraries: the media routes' copy in memory (008) is reloaded
-- whenever an album's photos or members change, or an album goes.
CREATE TRIGGER album_photos_added AFTER INSERT ON album_photos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER album_photos_deleted AFTER DELETE ON album_photos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER album_members_added AFTER INSERT ON album_members REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER album_members_deleted AFTER DELETE ON album_members REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER albums_deleted AFTER DELETE ON albums REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER albums_owner AFTER UPDATE OF owner_id ON albums
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump_always();

-- A removed account's albums are removed with it (photos stay).
CREATE FUNCTION albums_of_removed_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM albums WHERE owner_id IN (SELECT id FROM changed);
    RETURN NULL;
END $$;
CREATE TRIGGER users_albums_deleted AFTER DELETE ON users REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION albums_of_removed_users();
