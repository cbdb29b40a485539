-- Uploads (issue 9): each user's uploads are a library of kind 'upload'
-- under <data>/uploads/, owned by that user. Shoebox owns those files: an
-- uploaded photo purged from its owner's trash has its file deleted (by
-- the next scan of that library). A 'folder' library is read-only to
-- Shoebox, always.
ALTER TABLE libraries ADD COLUMN kind text NOT NULL DEFAULT 'folder' CHECK (kind IN ('folder', 'upload'));
-- A user's upload library, found by its owner.
CREATE INDEX libraries_uploads ON libraries (owner_id) WHERE kind = 'upload';
