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
func (s *Storage) Stats(ctx context.Context, scope Scope) (*LibraryStats, error) {
	st := &LibraryStats{}
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	visible, files := "", ""
	if scope.Limited() {
		visible = " AND " + scope.visibleSQL(arg)
		files = " WHERE f.library_id = ANY($1)"
	}
	// A photo in the asker's trash is out of everything, figures included.
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
			(SELECT count(*) FROM river_job WHERE state IN `+liveStates+`),
			(SELECT count(*) FROM (SELECT f.* FROM files f` + files + `) f LEFT JOIN photos p ON p.id = f.photo_id
				WHERE f.error IS NOT NULL OR p.state = 'failed')`
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, sql, args...).
			Scan(&st.Photos, &st.Damaged, &st.Bytes, &st.Files, &st.ByYear, &st.Cameras, &st.Queue.Pending, &st.Queue.Failed)
	})
	return st, interpretError("stats", err)
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
