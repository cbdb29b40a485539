-- Videos (issue 9): a video is a photo row of media_type 'video' whose
-- thumbnail, preview and placeholder come from its poster frame; format
-- holds its container. Whether a browser can play it is kept on disk
-- beside its thumbnail (the note of its original), so /video needs no SQL.
ALTER TABLE photos
    ADD COLUMN media_type  text NOT NULL DEFAULT 'photo' CHECK (media_type IN ('photo', 'video')),
    ADD COLUMN duration    double precision,  -- seconds; NULL for photos
    ADD COLUMN video_codec text,              -- ffmpeg's name: h264, hevc, vp9, av1, mpeg4
    ADD COLUMN audio_codec text;              -- aac, mp3, opus...; NULL without sound
-- is:video, newest first (the gallery's order).
CREATE INDEX photos_videos ON photos (taken_at DESC, id DESC)
    WHERE state = 'ready' AND media_type = 'video';
