package storage

import (
	"context"

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

// Stats computes the library's figures in one statement: one snapshot, so
// they agree with each other (and it runs inside a caller's transaction).
func (s *Storage) Stats(ctx context.Context) (*LibraryStats, error) {
	st := &LibraryStats{}
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM photos WHERE state = 'ready'),
			(SELECT count(damage) FROM photos WHERE state = 'ready'),
			(SELECT coalesce(sum(size), 0)::bigint FROM photos WHERE state = 'ready'),
			(SELECT count(*) FROM files),
			(SELECT coalesce(json_object_agg(y, n), '{}') FROM (
				SELECT to_char(taken_at AT TIME ZONE 'UTC', 'YYYY') AS y, count(*) AS n
				FROM photos WHERE state = 'ready' GROUP BY 1) years),
			(SELECT coalesce(json_agg(json_build_object('make', mk, 'model', md, 'photos', n) ORDER BY n DESC, mk, md), '[]') FROM (
				SELECT coalesce(camera_make, '') AS mk, coalesce(camera_model, '') AS md, count(*) AS n
				FROM photos WHERE state = 'ready' AND (camera_make IS NOT NULL OR camera_model IS NOT NULL)
				GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 100) cameras),
			(SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')),
			(SELECT count(*) FROM files f LEFT JOIN photos p ON p.id = f.photo_id
				WHERE f.error IS NOT NULL OR p.state = 'failed')`).
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

// Failures lists files that could not be indexed.
func (s *Storage) Failures(ctx context.Context, limit int) ([]Failure, error) {
	var out []Failure
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT l.root, f.rel_path, coalesce(f.error, p.error, '')
			FROM files f JOIN libraries l ON l.id = f.library_id LEFT JOIN photos p ON p.id = f.photo_id
			WHERE f.error IS NOT NULL OR p.state = 'failed' ORDER BY l.root, f.rel_path LIMIT $1`, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Failure])
		return err
	})
	return out, interpretError("failures", err)
}
