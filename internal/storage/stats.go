package storage

import (
	"context"

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

// Stats computes the library's figures on one connection.
func (s *Storage) Stats(ctx context.Context) (*LibraryStats, error) {
	st := &LibraryStats{ByYear: map[string]int{}, Cameras: []CameraCount{}}
	// One snapshot for all figures, so they agree with each other.
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
			return err
		}
		err := q.QueryRow(ctx, `SELECT count(*), count(damage), coalesce(sum(size), 0)::bigint
			FROM photos WHERE state = 'ready'`).Scan(&st.Photos, &st.Damaged, &st.Bytes)
		if err != nil {
			return err
		}
		if err := q.QueryRow(ctx, `SELECT count(*) FROM files`).Scan(&st.Files); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT to_char(taken_at AT TIME ZONE 'UTC', 'YYYY'), count(*)
			FROM photos WHERE state = 'ready' GROUP BY 1 ORDER BY 1`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				y string
				n int
			)
			if err := rows.Scan(&y, &n); err != nil {
				return err
			}
			st.ByYear[y] = n
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.Query(ctx, `SELECT coalesce(camera_make, ''), coalesce(camera_model, ''), count(*)
			FROM photos WHERE state = 'ready' AND (camera_make IS NOT NULL OR camera_model IS NOT NULL)
			GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 100`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c CameraCount
			if err := rows.Scan(&c.Make, &c.Model, &c.Photos); err != nil {
				return err
			}
			st.Cameras = append(st.Cameras, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')),
			(SELECT count(*) FROM files f LEFT JOIN photos p ON p.id = f.photo_id
				WHERE f.error IS NOT NULL OR p.state = 'failed')`).Scan(&st.Queue.Pending, &st.Queue.Failed)
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
		defer rows.Close()
		for rows.Next() {
			var f Failure
			if err := rows.Scan(&f.Library, &f.RelPath, &f.Reason); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, interpretError("failures", err)
}
