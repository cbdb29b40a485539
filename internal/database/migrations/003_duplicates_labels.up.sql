-- Near-duplicates: photos whose embeddings are nearly identical, grouped
-- by a background job after embedding (group_id = the group's first photo).
CREATE TABLE duplicates (
    photo_id text PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
    group_id text NOT NULL,
    model    text NOT NULL
);
CREATE INDEX duplicates_group ON duplicates (group_id);

-- The tag vocabulary's text embeddings, computed once per model.
CREATE TABLE label_embeddings (
    model     text NOT NULL,
    label     text NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (model, label)
);
