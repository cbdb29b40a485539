-- Search by meaning: one CLIP embedding per photo, tagged with the model
-- that made it (changing the model re-embeds in the background). The
-- column's dimension is the model's, which only the model folder knows: at
-- start shoebox makes it vector(D) and creates the HNSW cosine index
-- (storage.EnsureVectorIndex).
CREATE TABLE embeddings (
    photo_id   text PRIMARY KEY REFERENCES photos ON DELETE CASCADE,
    model      text NOT NULL,
    dim        int NOT NULL,
    embedding  vector NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX embeddings_model ON embeddings (model);

-- Automatic tags: each photo's best labels from the built-in vocabulary.
CREATE TABLE tags (
    photo_id text NOT NULL REFERENCES photos ON DELETE CASCADE,
    label    text NOT NULL,
    score    real NOT NULL,
    model    text NOT NULL,
    PRIMARY KEY (photo_id, label)
);
CREATE INDEX tags_label ON tags (label);
