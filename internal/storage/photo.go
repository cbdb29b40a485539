package storage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
	"shoebox/internal/place"
)

// PhotoSummary is what a gallery tile or an API list item needs.
type PhotoSummary struct {
	ID   string
	Path string // relative to its library folder
	// TakenAt is the wall-clock time the photo was taken, labelled UTC (the
	// gallery's sort key, like Immich's localDateTime); TakenOffset is its
	// zone in minutes east of UTC, nil when unknown.
	TakenAt     time.Time
	TakenOffset *int
	Width       int
	Height      int
	ThumbWidth  int
	ThumbHeight int
	Placeholder string
	// Damage is the decoder's warning for a truncated or corrupt file shown
	// as far as it decodes; empty for a sound photo.
	Damage string
	// The asker's own state of the photo.
	Favorite, Archived, Trashed bool
	// MediaType is "photo" or "video"; Duration is a video's length in
	// seconds (0 for a photo).
	MediaType string
	Duration  float64
	// LiveVideo is the id of a Live Photo's movie, played from its still
	// ("" for anything else); the movie itself is left out of lists.
	LiveVideo string
}

// summaryColumns select a PhotoSummary from photos aliased p joined with
// Scope.summaryJoins; scanSummary reads them, in this order. Every photo list (the
// gallery, search, neighbours, duplicates) uses the pair.
const (
	summaryColumns = `p.id, coalesce(f.rel_path, ''), p.taken_at, p.taken_offset, coalesce(p.width, 0), coalesce(p.height, 0),
		coalesce(p.thumb_width, 0), coalesce(p.thumb_height, 0), coalesce(p.placeholder, ''), coalesce(p.damage, ''),
		coalesce(ps.favorite, false), coalesce(ps.archived, false), ps.trashed_at IS NOT NULL,
		p.media_type, coalesce(p.duration, 0), ` + liveVideoSQL
)

// liveVideoSQL is the movie of the still aliased p, while it is ready.
const liveVideoSQL = `coalesce((SELECT lv.id FROM photos lv WHERE lv.id = p.live_video AND lv.state = 'ready'), '')`

// pairedMovieSQL is true for the photo aliased p unless it is the movie of
// a ready Live Photo still: lists show the still, which plays it.
const pairedMovieSQL = `NOT EXISTS (SELECT 1 FROM photos lp WHERE lp.live_video = p.id AND lp.state = 'ready')`

// summaryFields are the scan targets of summaryColumns.
func (ps *PhotoSummary) summaryFields() []any {
	return []any{&ps.ID, &ps.Path, &ps.TakenAt, &ps.TakenOffset, &ps.Width, &ps.Height, &ps.ThumbWidth, &ps.ThumbHeight, &ps.Placeholder, &ps.Damage,
		&ps.Favorite, &ps.Archived, &ps.Trashed, &ps.MediaType, &ps.Duration, &ps.LiveVideo}
}

// scanSummary is a pgx.RowToFunc for rows of exactly summaryColumns.
func scanSummary(r pgx.CollectableRow) (PhotoSummary, error) {
	var ps PhotoSummary
	err := r.Scan(ps.summaryFields()...)
	return ps, err
}

// Cursor is where the next page of a photo list starts. A list by date
// pages by keyset: after (TakenAt, ID) in the newest-first order. A ranking
// by meaning has no stable key and pages by Offset; its ID is empty. Its
// text form (String) is opaque to clients.
type Cursor struct {
	TakenAt time.Time
	ID      string
	Offset  int
}

// RankDepth bounds how far a ranking by meaning pages (best matches
// first): an offset cursor never goes beyond it.
const RankDepth = 1000

// minCursorMicros is the earliest instant PostgreSQL's timestamptz holds
// (4714-11-24 BC), in microseconds since 1970: a keyset cursor before it
// would wrap around when encoded, and page from somewhere else entirely.
const minCursorMicros = -210866803200000000

// Ranked reports whether c is an offset into a ranking by meaning rather
// than a keyset position.
func (c Cursor) Ranked() bool { return c.ID == "" }

// String encodes the cursor for URLs: URL-safe and opaque.
func (c Cursor) String() string {
	if c.Ranked() {
		return "o" + strconv.Itoa(c.Offset)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.TakenAt.UnixMicro(), 10) + " " + c.ID))
}

// errInvalidCursor says a cursor is not one Shoebox wrote.
var errInvalidCursor = errors.New("invalid cursor")

// ParseCursor decodes Cursor.String; an empty string is no cursor. It
// refuses what Shoebox never writes: an offset outside 1..RankDepth, a time
// PostgreSQL cannot hold, an id not of a photo's shape (validID).
func ParseCursor(s string, validID func(string) bool) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	if n, ok := strings.CutPrefix(s, "o"); ok {
		off, err := strconv.Atoi(n)
		if err != nil || off < 1 || off > RankDepth || strconv.Itoa(off) != n {
			return nil, errInvalidCursor
		}
		return &Cursor{Offset: off}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errInvalidCursor
	}
	ts, id, ok := strings.Cut(string(b), " ")
	us, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || us < minCursorMicros || !validID(id) {
		return nil, errInvalidCursor
	}
	return &Cursor{TakenAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// ListParams select a page of photos, newest first.
type ListParams struct {
	After *Cursor // a keyset cursor (not Ranked); nil: the first page
	// Before keeps the photos taken before it (wall clock, labelled UTC,
	// like taken_at): the timeline jumps to a month by listing from the
	// month's end. Zero: no bound.
	Before time.Time
	Limit  int
	// Terms must each appear in the photo's searchable text (file name,
	// folder, camera, lens, dates). Empty means all photos.
	Terms []string
	// Tags must each be among the photo's automatic tags.
	Tags []string
	// Damaged keeps only photos marked damaged (search is:damaged).
	Damaged bool
	// MediaType, when set, keeps only photos ("photo", search is:photo)
	// or only videos ("video", is:video).
	MediaType string
	// Albums must each hold the photo: names (any case) of albums the
	// scope's user owns or is a member of (search album:NAME).
	Albums []string
	// Places must each name the photo's city, region or country, as
	// whole words in any case, accents or not (search place:NAME).
	Places []string
	// People must each be on the photo: names (any case, "_" for spaces)
	// of people whose faces it shows (search person:NAME).
	People []string
	// Album, when not 0, keeps the photos of that album only (its page);
	// whether the asker may see it is checked before.
	Album int64
	// Scope is the libraries whose photos may be listed, and whose
	// state (favourites, archive, trash) applies.
	Scope Scope
	// Only narrows the list to a state; the default leaves out archived
	// and trashed photos.
	Only StateFilter
	// Share, when not 0, lists the photos of that share link only.
	Share int64
}

// filterSQL adds the conditions every listing shares (scope, state,
// media type, terms, tags, albums by name) for the photo aliased p. A
// Live Photo's movie is never listed: its still stands for both.
func filterSQL(scope Scope, only StateFilter, mediaType string, terms, tags, albums, places, people []string, arg func(any) string) []string {
	where := []string{pairedMovieSQL}
	if mediaType != "" {
		where = append(where, "p.media_type = "+arg(mediaType))
	}
	if v := scope.visibleSQL(arg); v != "" {
		where = append(where, v)
	}
	where = append(where, only.sql(scope, arg))
	for _, t := range terms {
		where = append(where, scope.textMatchSQL("LIKE", arg("%"+escapeLike(strings.ToLower(t))+"%"), arg))
	}
	for _, t := range tags {
		where = append(where, "EXISTS (SELECT 1 FROM tags t WHERE t.photo_id = p.id AND t.label = "+arg(strings.ToLower(t))+")")
	}
	for _, pl := range places {
		where = append(where, placeMatchSQL(pl, arg))
	}
	for _, n := range people {
		where = append(where, personMatchSQL(n, arg))
	}
	for _, a := range albums {
		where = append(where, "EXISTS (SELECT 1 FROM album_photos fap JOIN albums fa ON fa.id = fap.album_id WHERE fap.photo_id = p.id"+
			" AND lower(fa.name) = "+arg(strings.ToLower(a))+" AND fa.id IN ("+albumsOfSQL(arg(scope.User()))+"))")
	}
	return where
}

// probeRows is how many of the newest candidates a search by words looks
// at first (ListPhotos). Scanning the list's index newest first and
// testing each photo is what PostgreSQL plans for a LIMIT, expecting the
// matches to be spread over time; words often are not (a camera of one
// era, a year): at a million photos, camera:canon walked 860,000 photos
// newer than the first Canon one (540 ms). Ten thousand rows take a few
// milliseconds.
const probeRows = 10000

// ListPhotos returns one page and the cursor of the next (nil at the end).
// A list without words (Terms, Places) is one query down the index, newest first. With
// words, the newest probeRows candidates are searched first: when they
// hold a whole page, it is the page (the list's order is theirs);
// otherwise the photos matching the words are found through the trigram
// index and sorted by date, whatever their number. Either way the page is
// the answer of one statement.
func (s *Storage) ListPhotos(ctx context.Context, p ListParams) ([]PhotoSummary, *Cursor, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	var (
		base  = []string{"p.state = 'ready'"} // what the list's index holds, and where the page starts
		where []string                        // what a photo of the list must be besides
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where = append(where, filterSQL(p.Scope, p.Only, p.MediaType, p.Terms, p.Tags, p.Albums, p.Places, p.People, arg)...)
	if p.Damaged {
		where = append(where, "p.damage IS NOT NULL")
	}
	if p.Share != 0 {
		where = append(where, sharePhotoSQL(arg(p.Share)))
	}
	if p.Album != 0 {
		where = append(where, "EXISTS (SELECT 1 FROM album_photos lap WHERE lap.album_id = "+arg(p.Album)+" AND lap.photo_id = p.id)")
	}
	if p.After != nil && p.After.Ranked() {
		return nil, nil, fmt.Errorf("list photos: %w: an offset on a list by date", errInvalidCursor)
	}
	if p.After != nil {
		base = append(base, "(p.taken_at, p.id) < ("+arg(p.After.TakenAt)+", "+arg(p.After.ID)+")")
	}
	if !p.Before.IsZero() {
		base = append(base, "p.taken_at < "+arg(p.Before))
	}
	limit := arg(p.Limit + 1)
	joins := p.Scope.summaryJoins(arg)
	conds := strings.Join(base, " AND ") + " AND " + strings.Join(where, " AND ")
	// The page is chosen first (LIMIT), then each of its photos gets its
	// first path: never a path lookup for a photo not shown.
	page := func(q database.Querier, chosen string) ([]PhotoSummary, error) {
		rows, err := q.Query(ctx, `SELECT `+summaryColumns+`
			FROM (`+chosen+`) p
			`+joins+`
			ORDER BY p.taken_at DESC, p.id DESC`, args...)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, scanSummary)
	}
	var out []PhotoSummary
	var err error
	if len(p.Terms) == 0 && len(p.Places) == 0 { // place:NAME is words too (placeMatchSQL)
		err = s.db.Do(ctx, func(q database.Querier) error {
			out, err = page(q, `SELECT * FROM photos p WHERE `+conds+`
				ORDER BY p.taken_at DESC, p.id DESC LIMIT `+limit)
			return err
		})
	} else {
		err = s.db.Tx(ctx, func(q database.Querier) error {
			// A generic plan of these prepared statements knows neither how
			// many photos hold the words nor how few are needed: it tests
			// the other conditions on every match before sorting them,
			// where a plan made with the words tests them on the page only.
			if _, err := q.Exec(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
				return err
			}
			// The conditions are tested above the inner LIMIT, which they
			// cannot be pushed below: only the newest probeRows are looked at.
			out, err = page(q, `SELECT * FROM (SELECT * FROM photos p WHERE `+strings.Join(base, " AND ")+`
					ORDER BY p.taken_at DESC, p.id DESC LIMIT `+strconv.Itoa(probeRows)+`) p
				WHERE `+strings.Join(where, " AND ")+`
				ORDER BY p.taken_at DESC, p.id DESC LIMIT `+limit)
			if err != nil || len(out) > p.Limit {
				return err
			}
			// The same order by an expression the list's index does not
			// hold: the matches are collected (trigram index) and sorted.
			out, err = page(q, `SELECT * FROM photos p WHERE `+conds+`
				ORDER BY p.taken_at + interval '0 s' DESC, p.id DESC LIMIT `+limit)
			return err
		})
	}
	if err != nil {
		return nil, nil, interpretError("list photos", err)
	}
	var next *Cursor
	if len(out) > p.Limit {
		out = out[:p.Limit]
		last := out[len(out)-1]
		next = &Cursor{TakenAt: last.TakenAt, ID: last.ID}
	}
	return out, next, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Photo is everything known about one photo.
type Photo struct {
	PhotoSummary
	State       string
	Error       string
	Format      string
	Size        int64
	TakenSource string // "exif", "xmp", "iptc" or "file"
	Make, Model string
	Lens        string
	LensMake    string
	Exposure    string  // as printed: "1/250"
	ExposureSec float64 // seconds, 0 if unknown
	FNumber     float64
	ISO         int
	FocalLength float64
	Lat, Lon    *float64
	Alt         *float64
	// Place is where it was taken, named from Lat, Lon; nil when it has
	// no position, lies at sea, or is not placed yet.
	Place       *place.Place
	Orientation int
	// VideoCodec and AudioCodec are a video's (ffmpeg's names; AudioCodec
	// "" without sound); both "" for a photo.
	VideoCodec, AudioCodec string
	IndexedAt              *time.Time
	Files                  []FileRef
	Tags                   []Tag // automatic tags, best first
}

// FileRef is one path that holds a photo.
type FileRef struct {
	LibraryID int
	Root      string // the library folder
	RelPath   string
}

// Photo returns one photo with its files and tags: only the files in
// scope's libraries, and ErrNotFound when there is none.
func (s *Storage) Photo(ctx context.Context, scope Scope, id string) (*Photo, error) {
	var (
		p       Photo
		args    = []any{id}
		country *string
		pl      place.Place
	)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	visible, fileLib, fileArgs := "", "", []any{id}
	if scope.Limited() {
		visible = " AND " + scope.visibleSQL(arg)
		fileLib, fileArgs = " AND f.library_id = ANY($2)", append(fileArgs, scope.libraries)
	}
	// The asker's state of it; a photo emptied from their trash is gone
	// for them.
	state := " LEFT JOIN photo_states ps ON ps.photo_id = p.id AND ps.user_id = " + arg(scope.user)
	visible += " AND NOT coalesce(ps.purged, false)"
	err := s.db.Do(ctx, func(q database.Querier) error {
		err := q.QueryRow(ctx, `SELECT id, state, coalesce(error, ''), coalesce(format, ''), size,
				coalesce(taken_at, created_at), taken_offset, coalesce(taken_source, ''),
				coalesce(width, 0), coalesce(height, 0), coalesce(thumb_width, 0), coalesce(thumb_height, 0),
				coalesce(placeholder, ''), coalesce(camera_make, ''), coalesce(camera_model, ''), coalesce(lens, ''),
				coalesce(exposure, ''), coalesce(fnumber, 0), coalesce(iso, 0), coalesce(focal_length, 0),
				lat, lon, alt, coalesce(orientation, 1), indexed_at, coalesce(lens_make, ''), coalesce(exposure_time, 0),
				coalesce(damage, ''), coalesce(ps.favorite, false), coalesce(ps.archived, false), ps.trashed_at IS NOT NULL,
				media_type, coalesce(duration, 0), coalesce(video_codec, ''), coalesce(audio_codec, ''), `+liveVideoSQL+`,
				place_country, coalesce(place_region, ''), coalesce(place_city, '')
			FROM photos p`+state+` WHERE id = $1`+visible, args...).Scan(&p.ID, &p.State, &p.Error, &p.Format, &p.Size,
			&p.TakenAt, &p.TakenOffset, &p.TakenSource, &p.Width, &p.Height, &p.ThumbWidth, &p.ThumbHeight,
			&p.Placeholder, &p.Make, &p.Model, &p.Lens, &p.Exposure, &p.FNumber, &p.ISO, &p.FocalLength,
			&p.Lat, &p.Lon, &p.Alt, &p.Orientation, &p.IndexedAt, &p.LensMake, &p.ExposureSec,
			&p.Damage, &p.Favorite, &p.Archived, &p.Trashed, &p.MediaType, &p.Duration, &p.VideoCodec, &p.AudioCodec, &p.LiveVideo,
			&country, &pl.Region, &pl.City)
		if err != nil {
			return err
		}
		if country != nil {
			pl.Country = *country
			p.Place = &pl
		}
		rows, err := q.Query(ctx, `SELECT l.id, l.root, f.rel_path FROM files f JOIN libraries l ON l.id = f.library_id
			WHERE f.photo_id = $1`+fileLib+` ORDER BY l.root, f.rel_path`, fileArgs...)
		if err != nil {
			return err
		}
		if p.Files, err = pgx.CollectRows(rows, pgx.RowToStructByPos[FileRef]); err != nil {
			return err
		}
		rows, err = q.Query(ctx, `SELECT label, score FROM tags WHERE photo_id = $1 ORDER BY score DESC`, id)
		if err != nil {
			return err
		}
		p.Tags, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Tag])
		return err
	})
	if err != nil {
		return nil, interpretError("photo "+id, err)
	}
	if len(p.Files) > 0 {
		p.Path = p.Files[0].RelPath
	}
	return &p, nil
}

// PhotoResult is what processing a photo found, to be saved.
type PhotoResult struct {
	Format                  string
	Width, Height           int
	ThumbWidth, ThumbHeight int
	Placeholder             string
	// TakenAt is the wall clock (its zone, if any, is ignored: TakenOffset
	// says it); zero means use the file's modification time.
	TakenAt              time.Time
	TakenOffset          *int
	TakenSource          string // where TakenAt came from: "exif", "xmp", "iptc"
	Make, Model          string
	Lens, LensMake       string
	Exposure             string
	ExposureSec          float64
	FNumber, FocalLength float64
	ISO                  int
	Lat, Lon, Alt        *float64
	// Place is named from Lat, Lon by PlaceVersion of the places data
	// (nil: none, at sea or no position).
	Place        *place.Place
	PlaceVersion int
	Orientation  int
	MetaVersion  int // media.MetaVersion of the reader
	// ContentID is Apple's Live Photo identifier ("" without one): a
	// still and a movie that share it in one library are paired.
	ContentID string
	Damage    string // the decoder's warning; empty for a sound photo
	// Video is set for a video (Format is then its container).
	Video *VideoResult
}

// VideoResult is what a video adds to a PhotoResult.
type VideoResult struct {
	Duration               float64 // seconds; 0 when unknown
	VideoCodec, AudioCodec string  // AudioCodec "" without sound
}

// SavePhotoResult marks a photo ready with its metadata (and damaged, with
// the warning, when Damage is set).
func (s *Storage) SavePhotoResult(ctx context.Context, id string, r PhotoResult) error {
	source, offset := r.TakenSource, r.TakenOffset
	var taken any
	if r.TakenAt.IsZero() {
		// The file's modification time is a true instant: shown in UTC.
		source, offset = "file", new(int)
	} else {
		w := r.TakenAt
		taken = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC)
	}
	words := []string{r.Format, r.Make, r.Model, r.LensMake, r.Lens}
	mediaType, video := "photo", VideoResult{}
	if r.Video != nil {
		mediaType, video = "video", *r.Video
		words = append(words, "video", video.VideoCodec, video.AudioCodec)
	}
	meta := strings.ToLower(strings.Join(words, " "))
	pc := placeColumns(r.Place)
	err := s.db.Do(ctx, func(q database.Querier) error {
		// Explicit casts: nullif($n, 0) alone types the parameter as an
		// integer, which once cut f/1.8 to 1.
		_, err := q.Exec(ctx, `UPDATE photos SET state = 'ready', error = NULL, format = $2,
				width = $3, height = $4, thumb_width = $5, thumb_height = $6, placeholder = $7,
				taken_at = coalesce($8::timestamptz, (SELECT min(mtime) FROM files WHERE photo_id = $1), now()),
				taken_offset = $9::int, taken_source = $10,
				camera_make = nullif($11, ''), camera_model = nullif($12, ''), lens = nullif($13, ''),
				exposure = nullif($14, ''), fnumber = nullif($15::float8, 0), iso = nullif($16::int, 0),
				focal_length = nullif($17::float8, 0),
				lat = $18, lon = $19, alt = $20, orientation = $21, meta_text = $22, indexed_at = now(),
				lens_make = nullif($23, ''), exposure_time = nullif($24::float8, 0), meta_version = $25,
				damage = nullif($26, ''), media_type = $27,
				duration = CASE WHEN $27 = 'video' THEN nullif($28::float8, 0) END,
				video_codec = nullif($29, ''), audio_codec = nullif($30, ''),
				live_video = CASE WHEN content_id IS NOT DISTINCT FROM nullif($31, '') THEN live_video END,
				content_id = nullif($31, ''),
				place_country = $32, place_region = nullif($33, ''), place_city = nullif($34, ''),
				place_text = $35, place_version = $36
			WHERE id = $1`, id, r.Format, r.Width, r.Height, r.ThumbWidth, r.ThumbHeight, r.Placeholder,
			taken, offset, source, r.Make, r.Model, r.Lens, r.Exposure, r.FNumber, r.ISO, r.FocalLength,
			r.Lat, r.Lon, r.Alt, r.Orientation, meta, r.LensMake, r.ExposureSec, r.MetaVersion, r.Damage,
			mediaType, video.Duration, video.VideoCodec, video.AudioCodec, r.ContentID,
			pc.country, pc.region, pc.city, pc.text, r.PlaceVersion)
		if err != nil {
			return err
		}
		if err := pairLive(ctx, q, id, r.ContentID); err != nil {
			return err
		}
		return refreshSearch(ctx, q, []string{id})
	})
	return interpretError("save photo "+id, err)
}

// pairLive pairs the photo just saved with its Live Photo counterpart:
// the still with the movie, or the movie with the still, whichever was
// processed second. Both must be ready, share the content id and lie in
// one library (so whoever sees the still may play the movie). A movie
// whose identifier changed is let go by the stills that named it.
func pairLive(ctx context.Context, q database.Querier, id, contentID string) error {
	if _, err := q.Exec(ctx, `UPDATE photos SET live_video = NULL
		WHERE live_video = $1 AND content_id IS DISTINCT FROM nullif($2, '')`, id, contentID); err != nil {
		return err
	}
	if contentID == "" {
		return nil
	}
	_, err := q.Exec(ctx, `UPDATE photos s SET live_video = (
			SELECT m.id FROM photos m
			WHERE m.content_id = s.content_id AND m.media_type = 'video' AND m.state = 'ready'
				AND EXISTS (SELECT 1 FROM files fs JOIN files fm ON fm.library_id = fs.library_id
					WHERE fs.photo_id = s.id AND fm.photo_id = m.id)
			ORDER BY m.id LIMIT 1)
		WHERE s.content_id = $2 AND s.media_type = 'photo' AND s.state = 'ready' AND s.live_video IS NULL
			AND (s.id = $1 OR EXISTS (SELECT 1 FROM photos m WHERE m.id = $1 AND m.media_type = 'video'))`, id, contentID)
	return err
}

// StaleMeta lists the ready photos of a library whose metadata was read
// by a reader older than version, so an upgrade corrects the library on
// the next scan (each is processed again; its thumbnails stay in place,
// and are served, until the new ones are written).
func (s *Storage) StaleMeta(ctx context.Context, libraryID, version int) ([]string, error) {
	var ids []string
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT p.id FROM photos p
			WHERE p.state = 'ready' AND p.meta_version < $2
				AND EXISTS (SELECT 1 FROM files f WHERE f.photo_id = p.id AND f.library_id = $1)
			ORDER BY p.id`, libraryID, version)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return ids, interpretError("stale metadata", err)
}

// searchableMeta is the searchable text of the photo aliased p that is not
// a path: its metadata words, place names and dates, lower-cased.
const searchableMeta = `lower(concat_ws(' ', p.meta_text, p.place_text, to_char(p.taken_at AT TIME ZONE 'UTC', 'YYYY-MM-DD FMMonth YYYY')))`

// refreshSearch recomputes search_text from meta_text, dates and paths.
func refreshSearch(ctx context.Context, q database.Querier, ids []string) error {
	_, err := q.Exec(ctx, `UPDATE photos p SET search_text = concat_ws(' ', `+searchableMeta+`,
			lower((SELECT string_agg(f.rel_path, ' ') FROM files f WHERE f.photo_id = p.id)))
		WHERE p.id = ANY($1)`, ids)
	return err
}

// FailPhoto marks a photo that cannot be processed, with the reason.
func (s *Storage) FailPhoto(ctx context.Context, id, reason string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE photos SET state = 'failed', error = $2, indexed_at = now() WHERE id = $1`, id, reason)
		return err
	})
	return interpretError("fail photo "+id, err)
}

// PhotoSources returns the absolute paths of the files holding a photo.
func (s *Storage) PhotoSources(ctx context.Context, id string) ([]string, error) {
	var paths []string
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT l.root || '/' || f.rel_path FROM files f JOIN libraries l ON l.id = f.library_id
			WHERE f.photo_id = $1 ORDER BY f.rel_path`, id)
		if err != nil {
			return err
		}
		paths, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, interpretError("photo sources", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("photo sources %s: %w", id, ErrNotFound)
	}
	return paths, nil
}
