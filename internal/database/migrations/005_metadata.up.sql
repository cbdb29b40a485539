-- Metadata as the camera wrote it (issue 6, item 9).
--
-- fnumber and focal_length were real (float4) and were written through an
-- integer parameter, which cut f/1.8 to 1: they become double precision
-- holding the stored rational num/den (what ExifTool computes), and the
-- exposure time gets its value in seconds beside the printed "1/250".
ALTER TABLE photos
    ALTER COLUMN fnumber TYPE double precision,
    ALTER COLUMN focal_length TYPE double precision,
    ADD COLUMN exposure_time double precision,  -- seconds
    ADD COLUMN lens_make text,
    -- media.MetaVersion of the reader that filled the row; a scan requeues
    -- processing for rows below the current version (0: before this one).
    ADD COLUMN meta_version int NOT NULL DEFAULT 0;

-- taken_at is from now on the wall-clock time the photo was taken stored as
-- if it were UTC, for every photo, like Immich's localDateTime: the gallery
-- sorts by what the clock said where the photo was taken, so a camera that
-- records no zone and a phone that does sort together. taken_offset
-- (minutes east of UTC, NULL when no source gives a zone) recovers the
-- instant: taken_at - taken_offset. Rows whose zone was known held the
-- instant until now: move them to their wall clock.
UPDATE photos SET taken_at = taken_at + make_interval(mins => taken_offset)
    WHERE taken_offset IS NOT NULL AND taken_at IS NOT NULL;
-- taken_source: 'exif', 'xmp', 'iptc', or 'file' (the file's modification
-- time, a true instant, stored with offset 0).
UPDATE photos SET taken_offset = 0 WHERE taken_source = 'file';
