-- Places: where each located photo was taken, named offline from its GPS
-- position (internal/place). Written by processing, and for photos indexed
-- before (or placed by older data: place_version < place.Version) by the
-- next scan of their library, without reading their files again.
-- place_text is the names lower-cased, with accent-free forms besides
-- ("zürich zurich"), for search (place:NAME and plain words).

ALTER TABLE photos
    ADD COLUMN place_country text,
    ADD COLUMN place_region  text,
    ADD COLUMN place_city    text,
    ADD COLUMN place_text    text NOT NULL DEFAULT '',
    ADD COLUMN place_version int NOT NULL DEFAULT 0;

-- The located photos: the map's list and the scans' search for photos to place.
CREATE INDEX photos_located ON photos (place_version) WHERE lat IS NOT NULL AND lon IS NOT NULL;
