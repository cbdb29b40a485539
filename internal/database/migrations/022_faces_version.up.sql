-- Face detection on indexed photos (issue 11): which version of the face
-- pipeline has looked at a photo (0: none yet). A photo looked at stays
-- done even when it has no faces, so it is never looked at again until
-- the pipeline's version changes; photos indexed before faces existed are
-- found by it and queued (the backfill).
ALTER TABLE photos ADD COLUMN faces_version smallint NOT NULL DEFAULT 0;
CREATE INDEX photos_faces_todo ON photos (faces_version) WHERE state = 'ready';
