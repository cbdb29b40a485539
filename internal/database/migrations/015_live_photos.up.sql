-- Live Photos (issue 9): an iPhone still and its short movie share Apple's
-- content identifier (the still's maker note, the movie's QuickTime
-- metadata). Processing records it on both and pairs them, whichever comes
-- second: the still's live_video names its movie, which lists then leave
-- out (it plays from the still). Photos read before this have no
-- content_id: media.MetaVersion 3 has them read again on the next scan.
ALTER TABLE photos
    ADD COLUMN content_id text,
    ADD COLUMN live_video text REFERENCES photos (id) ON DELETE SET NULL;
-- Pairing looks a content id up; every list asks "is this a paired movie?".
CREATE INDEX photos_content_id ON photos (content_id) WHERE content_id IS NOT NULL;
CREATE INDEX photos_live_video ON photos (live_video) WHERE live_video IS NOT NULL;
