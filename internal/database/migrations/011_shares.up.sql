-- Share links (issue 8): a link to an album or to a selection of photos,
-- known by the SHA-256 of its key (the key is shown once). A visitor sees
-- only what was shared. Every serving process holds the live links and
-- their photos in memory (media routes run no SQL), reloaded when the
-- visibility epoch moves, which every change below moves.
CREATE TABLE shares (
    id             bigserial PRIMARY KEY,
    owner_id       bigint NOT NULL,          -- 0: the local user without accounts
    key_hash       bytea NOT NULL UNIQUE,
    album_id       bigint,                   -- an album's link; NULL: the photos of share_photos
    password       text,                     -- Argon2id PHC string; NULL: none asked
    allow_download boolean NOT NULL DEFAULT false,
    show_metadata  boolean NOT NULL DEFAULT false,
    expires_at     timestamptz,
    revoked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shares_owner ON shares (owner_id);

CREATE TABLE share_photos (
    share_id bigint NOT NULL REFERENCES shares ON DELETE CASCADE,
    photo_id text NOT NULL REFERENCES photos ON DELETE CASCADE,
    PRIMARY KEY (share_id, photo_id)
);

CREATE TRIGGER shares_added AFTER INSERT ON shares REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER shares_updated AFTER UPDATE ON shares REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER shares_deleted AFTER DELETE ON shares REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER share_photos_added AFTER INSERT ON share_photos REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
CREATE TRIGGER share_photos_deleted AFTER DELETE ON share_photos REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION visibility_bump();
