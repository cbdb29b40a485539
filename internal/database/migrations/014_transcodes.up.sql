-- Transcodes (issue 9): videos browsers do not play are converted by
-- 'transcode' jobs, queued when a video is processed. Videos indexed
-- before conversions existed are queued here, once (the same rule as
-- media.Video.Playable: H.264 with AAC, MP3 or no sound, in MP4/M4V/MOV).
INSERT INTO jobs (kind, key, args, priority)
SELECT 'transcode', id, jsonb_build_object('duration', coalesce(duration, 0)), 4
FROM photos
WHERE media_type = 'video' AND state = 'ready'
  AND NOT (format IN ('mp4', 'm4v', 'mov') AND video_codec = 'h264' AND coalesce(audio_codec, 'aac') IN ('aac', 'mp3'))
ON CONFLICT (kind, key) WHERE state IN ('pending', 'running') DO NOTHING;
