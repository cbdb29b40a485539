package storage

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// LibraryStats are the library's figures for /api/stats and `shoebox stats`.
type LibraryStats struct {
	Photos  int            `json:"photos"`  // indexed (ready) photos
	Damaged int            `json:"damaged"` // of those, shown damaged (truncated or corrupt files)
	Bytes   int64          `json:"bytes"`   // their size, each content counted once
	Files   int            `json:"files"`
	ByYear  map[string]int `json:"by_year"`
	Cameras []CameraCount  `json:"cameras"`
	Queue   QueueStats     `json:"queue"`
}

// CameraCount is how many photos one camera took.
type CameraCount struct {
	Make   string `json:"make"`
	Model  string `json:"model"`
	Photos int    `json:"photos"`
}

// QueueStats: pending index work and files that could not be indexed.
type QueueStats struct {
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}

// Stats computes the figures of the libraries in scope in one statement:
// one snapshot, so they agree with each other (and it runs inside a
// caller's transaction). The queue is the whole server's.
//
// The photos' figures come from the counters of migration 017
// (photo_counts, one row per set of libraries, month, camera and damage,
// kept by triggers): the rows whose set meets the scope's libraries, plus
// the photos only an album of the asker shows, less those in the asker's
// trash — a few rows read where counting took seconds at a million photos.
// StatsByCounting is the same figures counted from the tables.
func (s *Storage) Stats(ctx context.Context, scope Scope) (*LibraryStats, error) {
	st := &LibraryStats{}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	const key = `coalesce(date_trunc('month', p.taken_at AT TIME ZONE 'UTC')::date, '-infinity'),
		coalesce(p.camera_make, ''), coalesce(p.camera_model, ''), p.damage IS NOT NULL`
	counted := `SELECT month, camera_make, camera_model, damaged, photos, bytes FROM photo_counts WHERE photos <> 0`
	visible, extra := "true", ""
	files := `SELECT coalesce(sum(files), 0) FROM library_counts`
	failedFiles, failedJoin := "", ""
	if scope.Limited() {
		libs := arg(scope.libraries) + "::int[]"
		counted += " AND libs && " + libs
		visible = "p.libs && " + libs
		files += " WHERE library_id = ANY(" + libs + ")"
		failedFiles = " AND library_id = ANY(" + libs + ")"
		failedJoin = " AND f.library_id = ANY(" + libs + ")"
		if scope.user != 0 {
			album := "EXISTS (SELECT 1 FROM album_photos vap WHERE vap.photo_id = p.id AND vap.album_id IN (" + albumsOfSQL(arg(scope.user)) + "))"
			extra = ` UNION ALL SELECT ` + key + `, 1, p.size FROM photos p WHERE p.state = 'ready' AND NOT (p.libs && ` + libs + `) AND ` + album
			visible = "(" + visible + " OR " + album + ")"
		}
	}
	// A photo in the asker's trash is out of everything, figures included.
	trashed := ` UNION ALL SELECT ` + key + `, -1, -p.size FROM photo_states hs JOIN photos p ON p.id = hs.photo_id
		WHERE hs.user_id = ` + arg(scope.user) + ` AND (hs.trashed_at IS NOT NULL OR hs.purged) AND p.state = 'ready' AND ` + visible
	sql := `WITH d (month, mk, md, damaged, photos, bytes) AS (` + counted + extra + trashed + `)
		SELECT
			(SELECT coalesce(sum(photos), 0)::bigint FROM d),
			(SELECT coalesce(sum(photos) FILTER (WHERE damaged), 0)::bigint FROM d),
			(SELECT coalesce(sum(bytes), 0)::bigint FROM d),
			(` + files + `)::bigint,
			(SELECT coalesce(json_object_agg(y, n), '{}') FROM (
				SELECT to_char(month, 'YYYY') AS y, sum(photos) AS n FROM d WHERE month <> '-infinity'
				GROUP BY 1 HAVING sum(photos) <> 0) years),
			(SELECT coalesce(json_agg(json_build_object('make', mk, 'model', md, 'photos', n) ORDER BY n DESC, mk, md), '[]') FROM (
				SELECT mk, md, sum(photos) AS n FROM d WHERE mk <> '' OR md <> ''
				GROUP BY 1, 2 HAVING sum(photos) <> 0 ORDER BY 3 DESC, 1, 2 LIMIT 100) cameras),
			(SELECT count(*) FROM river_job WHERE state IN ` + liveStates + `),
			(SELECT count(*) FROM (
				SELECT library_id, rel_path FROM files WHERE error IS NOT NULL` + failedFiles + `
				UNION SELECT f.library_id, f.rel_path FROM photos p JOIN files f ON f.photo_id = p.id
				WHERE p.state = 'failed'` + failedJoin + `) failed)`
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, sql, args...).
			Scan(&st.Photos, &st.Damaged, &st.Bytes, &st.Files, &st.ByYear, &st.Cameras, &st.Queue.Pending, &st.Queue.Failed)
	})
	return st, interpretError("stats", err)
}

// StatsByCounting is Stats counted from the tables themselves (every
// photo in scope read): the truth the counters are tested against, and
// what `shoebox doctor`-style checks may compare with.
func (s *Storage) StatsByCounting(ctx context.Context, scope Scope) (*LibraryStats, error) {
	st := &LibraryStats{}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	visible, files := "", ""
	if scope.Limited() {
		visible = " AND " + scope.visibleSQL(arg)
		files = " WHERE f.library_id = ANY($1)"
	}
	visible += " AND " + NotTrashed.sql(scope, arg)
	sql := `WITH v AS (SELECT p.size, p.damage, p.taken_at, p.camera_make, p.camera_model FROM photos p WHERE p.state = 'ready'` + visible + `)
		SELECT
			(SELECT count(*) FROM v),
			(SELECT count(damage) FROM v),
			(SELECT coalesce(sum(size), 0)::bigint FROM v),
			(SELECT count(*) FROM files f` + files + `),
			(SELECT coalesce(json_object_agg(y, n), '{}') FROM (
				SELECT to_char(taken_at AT TIME ZONE 'UTC', 'YYYY') AS y, count(*) AS n
				FROM v GROUP BY 1) years),
			(SELECT coalesce(json_agg(json_build_object('make', mk, 'model', md, 'photos', n) ORDER BY n DESC, mk, md), '[]') FROM (
				SELECT coalesce(camera_make, '') AS mk, coalesce(camera_model, '') AS md, count(*) AS n
				FROM v WHERE camera_make IS NOT NULL OR camera_model IS NOT NULL
				GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 100) cameras),
			(SELECT count(*) FROM river_job WHERE state IN ` + liveStates + `),
			(SELECT count(*) FROM (SELECT f.* FROM files f` + files + `) f LEFT JOIN photos p ON p.id = f.photo_id
				WHERE f.error IS NOT NULL OR p.state = 'failed')`
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, sql, args...).
			Scan(&st.Photos, &st.Damaged, &st.Bytes, &st.Files, &st.ByYear, &st.Cameras, &st.Queue.Pending, &st.Queue.Failed)
	})
	return st, interpretError("stats by counting", err)
}

// RebuildCounters recomputes the counters behind Stats from the tables
// (for bulk loads that bypassed the triggers).
func (s *Storage) RebuildCounters(ctx context.Context) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `SELECT photo_counts_rebuild()`)
		return err
	})
	return interpretError("rebuild counters", err)
}

// Failure is a file that could not be indexed, and why.
type Failure struct {
	Library string `json:"library"`
	RelPath string `json:"path"`
	Reason  string `json:"reason"`
}

// Failures lists the files of the libraries in scope that could not be
// indexed.
func (s *Storage) Failures(ctx context.Context, scope Scope, limit int) ([]Failure, error) {
	var out []Failure
	args := []any{limit}
	lib := ""
	if scope.Limited() {
		args = append(args, scope.libraries)
		lib = " AND f.library_id = ANY($2)"
	}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT l.root, f.rel_path, coalesce(f.error, p.error, '')
			FROM files f JOIN libraries l ON l.id = f.library_id LEFT JOIN photos p ON p.id = f.photo_id
			WHERE (f.error IS NOT NULL OR p.state = 'failed')`+lib+` ORDER BY l.root, f.rel_path LIMIT $1`, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Failure])
		return err
	})
	return out, interpretError("failures", err)
}
