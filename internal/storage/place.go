package storage

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
	"shoebox/internal/place"
)

// placeCols are a place as the photos table stores it.
type placeCols struct {
	country            *string // NULL: no place
	region, city, text string
}

// placeColumns are p's columns: its names, and its search words (lower
// case, with accent-free forms besides: "zürich zurich").
func placeColumns(p *place.Place) placeCols {
	if p == nil || p.Country == "" {
		return placeCols{}
	}
	var words []string
	for _, n := range []string{p.City, p.Region, p.Country} {
		if n == "" {
			continue
		}
		l, f := strings.ToLower(n), place.Fold(n)
		words = append(words, l)
		if f != l {
			words = append(words, f)
		}
	}
	country := p.Country
	return placeCols{country: &country, region: p.Region, city: p.City, text: strings.Join(words, " ")}
}

// placeMatchSQL is the condition that name (search place:NAME, "_" for
// spaces) is a whole word or words of the photo aliased p's place. Its
// search_text holds the place's words too, so its trigram index narrows
// the candidates first.
func placeMatchSQL(name string, arg func(any) string) string {
	n := place.Fold(strings.ReplaceAll(name, "_", " "))
	return "(p.search_text LIKE " + arg("%"+escapeLike(n)+"%") + " AND p.place_text ~ " + arg(`\m`+regexpQuote(n)+`\M`) + ")"
}

// everyVisibleSQL is visibleSQL ("true" when s sees everything) for a
// query that reads every photo in scope rather than a page: a photo's
// libraries from photos.libs (migration 017) rather than a look into
// files for each (at 100,000 located photos in a limited scope, the map's
// list took 0.64 s that way).
func (s Scope) everyVisibleSQL(arg func(any) string) string {
	if !s.limited {
		return "true"
	}
	libs := "p.libs && " + arg(s.libraries) + "::int[]"
	if s.user == 0 {
		return libs
	}
	return "(" + libs + " OR EXISTS (SELECT 1 FROM album_photos vap WHERE vap.photo_id = p.id AND vap.album_id IN (" +
		albumsOfSQL(arg(s.user)) + ")))"
}

// Located is a photo's position, to be placed.
type Located struct {
	ID       string
	Lat, Lon float64
}

// Unplaced lists up to limit ready photos of a library that have a
// position but were placed by no version of the places data, or an
// older one than version.
func (s *Storage) Unplaced(ctx context.Context, libraryID, version, limit int) ([]Located, error) {
	var out []Located
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT p.id, p.lat, p.lon FROM photos p
			WHERE p.lat IS NOT NULL AND p.lon IS NOT NULL AND p.place_version < $2 AND p.state = 'ready'
				AND EXISTS (SELECT 1 FROM files f WHERE f.photo_id = p.id AND f.library_id = $1)
			ORDER BY p.id LIMIT $3`, libraryID, version, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Located])
		return err
	})
	return out, interpretError("unplaced photos", err)
}

// Placed is a photo's place as found (Place nil: none, at sea).
type Placed struct {
	ID    string
	Place *place.Place
}

// SavePlaces saves the places found by version of the places data, and
// the search text of those photos, in one transaction.
func (s *Storage) SavePlaces(ctx context.Context, version int, placed []Placed) error {
	if len(placed) == 0 {
		return nil
	}
	ids := make([]string, len(placed))
	countries := make([]*string, len(placed))
	regions, cities, texts := make([]string, len(placed)), make([]string, len(placed)), make([]string, len(placed))
	for i, p := range placed {
		c := placeColumns(p.Place)
		ids[i], countries[i], regions[i], cities[i], texts[i] = p.ID, c.country, c.region, c.city, c.text
	}
	err := s.db.Tx(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE photos p SET place_country = u.country, place_region = nullif(u.region, ''),
				place_city = nullif(u.city, ''), place_text = u.text, place_version = $6
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u (id, country, region, city, text)
			WHERE p.id = u.id`, ids, countries, regions, cities, texts, version)
		if err != nil {
			return err
		}
		return refreshSearch(ctx, q, ids)
	})
	return interpretError("save places", err)
}

// noJIT turns off PostgreSQL's JIT for the transaction's queries that read
// every located photo in scope: a limited scope's estimate (the album
// subplan's) crosses jit_above_cost, and compiling took 0.4 s of the
// 0.6 s the map's list of 100,000 photos took, to save nothing.
const noJIT = `SET LOCAL jit = off`

// MapPhoto is one located photo on the map.
type MapPhoto struct {
	ID       string
	Lat, Lon float64
}

// MapPhotos lists the located photos the gallery shows in scope (archived
// and trashed ones left out), newest first, up to limit.
func (s *Storage) MapPhotos(ctx context.Context, scope Scope, limit int) ([]MapPhoto, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := []string{"p.state = 'ready'", "p.lat IS NOT NULL", "p.lon IS NOT NULL", pairedMovieSQL,
		scope.everyVisibleSQL(arg), Default.sql(scope, arg)}
	sql := `SELECT p.id, p.lat, p.lon FROM photos p WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY p.taken_at DESC, p.id DESC LIMIT ` + arg(limit)
	var out []MapPhoto
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, noJIT); err != nil {
			return err
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[MapPhoto])
		return err
	})
	return out, interpretError("map photos", err)
}

// PlaceStats are the places of the photos in scope, for the stats page.
type PlaceStats struct {
	Located   int          `json:"located"` // photos with a GPS position
	Placed    int          `json:"placed"`  // of those, named (not at sea, placed already)
	Countries []PlaceCount `json:"countries"`
	Cities    []PlaceCount `json:"cities"`
}

// PlaceCount is how many photos were taken in one country or city.
type PlaceCount struct {
	Country string `json:"country"`
	Region  string `json:"region,omitempty"`
	City    string `json:"city,omitempty"`
	Photos  int    `json:"photos"`
}

// PlaceCounts counts the located photos in scope (as Stats does: trashed
// ones left out) and the limit countries and cities with most photos, in
// one statement.
func (s *Storage) PlaceCounts(ctx context.Context, scope Scope, limit int) (*PlaceStats, error) {
	st := &PlaceStats{}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	visible := " AND " + scope.everyVisibleSQL(arg) + " AND " + NotTrashed.sql(scope, arg)
	lim := arg(limit)
	sql := `WITH v AS (SELECT p.place_country AS country, coalesce(p.place_region, '') AS region, coalesce(p.place_city, '') AS city
			FROM photos p WHERE p.state = 'ready' AND p.lat IS NOT NULL AND p.lon IS NOT NULL` + visible + `)
		SELECT
			(SELECT count(*) FROM v),
			(SELECT count(country) FROM v),
			(SELECT coalesce(json_agg(json_build_object('country', country, 'photos', n) ORDER BY n DESC, country), '[]') FROM (
				SELECT country, count(*) AS n FROM v WHERE country IS NOT NULL
				GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ` + lim + `) c),
			(SELECT coalesce(json_agg(json_build_object('country', country, 'region', region, 'city', city, 'photos', n) ORDER BY n DESC, city), '[]') FROM (
				SELECT country, region, city, count(*) AS n FROM v WHERE city <> ''
				GROUP BY 1, 2, 3 ORDER BY 4 DESC, 3 LIMIT ` + lim + `) c)`
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, noJIT); err != nil {
			return err
		}
		return q.QueryRow(ctx, sql, args...).Scan(&st.Located, &st.Placed, &st.Countries, &st.Cities)
	})
	return st, interpretError("place counts", err)
}
