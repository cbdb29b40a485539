-- People (issue 11): faces found on photos, grouped into people.
--
-- A person belongs to one account: the owner of the library holding the
-- photo (its lowest-numbered library when several hold it; the first admin
-- for a library without owner; 0 without accounts), recorded on each face
-- as owner_id when the face is saved. Faces are clustered among their
-- owner's faces only, and only the owner names, merges, splits or hides
-- their people. Anyone else who sees the photo (a shared library, a shared
-- album) sees its faces and the owner's people they belong to, counted
-- over the photos they see: the names travel with what is shared, never
-- further.
CREATE TABLE people (
    id         bigserial PRIMARY KEY,
    owner_id   bigint NOT NULL,
    name       text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    hidden     boolean NOT NULL DEFAULT false,
    cover_face bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_owner ON people (owner_id);

-- box: x, y (top left), w, h as fractions of the upright image.
-- embedding: the face descriptor (face-api's 128 numbers, compared by
-- Euclidean distance: the same person is typically within 0.6).
CREATE TABLE faces (
    id         bigserial PRIMARY KEY,
    photo_id   text NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    owner_id   bigint NOT NULL,
    x          real NOT NULL CHECK (x >= 0 AND x <= 1),
    y          real NOT NULL CHECK (y >= 0 AND y <= 1),
    w          real NOT NULL CHECK (w > 0 AND w <= 1),
    h          real NOT NULL CHECK (h > 0 AND h <= 1),
    score      real NOT NULL,
    embedding  vector(128) NOT NULL,
    person_id  bigint REFERENCES people ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE people ADD CONSTRAINT people_cover_face FOREIGN KEY (cover_face) REFERENCES faces ON DELETE SET NULL;
CREATE INDEX faces_photo ON faces (photo_id);
CREATE INDEX faces_person ON faces (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX faces_owner ON faces (owner_id);
CREATE INDEX faces_embedding ON faces USING hnsw (embedding vector_l2_ops);

-- A removed account's people go with it (their faces stay, unassigned).
CREATE FUNCTION people_of_removed_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM people WHERE owner_id IN (SELECT id FROM changed);
    RETURN NULL;
END $$;
CREATE TRIGGER users_people_deleted AFTER DELETE ON users REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION people_of_removed_users();
