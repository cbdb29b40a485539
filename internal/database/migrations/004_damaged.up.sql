-- Damaged photos: a truncated or corrupt file is shown as far as it
-- decodes, with the decoder's warning here (NULL: a sound photo).
ALTER TABLE photos ADD COLUMN damage text;
CREATE INDEX photos_damaged ON photos (taken_at DESC, id DESC)
    WHERE state = 'ready' AND damage IS NOT NULL;

-- Photos refused before damaged files could be shown may now be shown:
-- process them again. Those that still cannot be decoded fail again, with
-- their reason, at the cost of one decode each.
UPDATE photos SET state = 'pending', error = NULL WHERE state = 'failed';
INSERT INTO jobs (kind, key)
    SELECT 'process', id FROM photos WHERE state = 'pending'
    ON CONFLICT (kind, key) WHERE state IN ('pending', 'running') DO NOTHING;
