package storage

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// KnownFile is what the last scan recorded about a path.
type KnownFile struct {
	Size    int64
	MTime   time.Time
	PhotoID string
	Failed  bool
}

// LibraryFiles returns every known file of a library, by relative path.
func (s *Storage) LibraryFiles(ctx context.Context, libraryID int) (map[string]KnownFile, error) {
	out := map[string]KnownFile{}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT rel_path, size, mtime, coalesce(photo_id, ''), error IS NOT NULL
			FROM files WHERE library_id = $1`, libraryID)
		if err != nil {
			return err
		}
		var (
			rel string
			k   KnownFile
		)
		_, err = pgx.ForEachRow(rows, []any{&rel, &k.Size, &k.MTime, &k.PhotoID, &k.Failed}, func() error {
			out[rel] = k
			return nil
		})
		return err
	})
	return out, interpretError("library files", err)
}

// ScannedFile is a file found (new or changed) by a scan.
type ScannedFile struct {
	RelPath string
	Size    int64
	MTime   time.Time
	// PhotoID and Hash identify the content; empty when Error is set.
	PhotoID string
	Hash    []byte
	Error   string
}

// SaveScanned records a batch of scanned files in one transaction: each
// file points at its photo, and a photo seen for the first time is created.
// It returns the ids of photos that are new; the caller enqueues their
// processing in the same transaction (Storage.Tx), so a crash can never
// leave a photo without the job that indexes it.
func (s *Storage) SaveScanned(ctx context.Context, libraryID int, files []ScannedFile) (newPhotos []string, err error) {
	err = s.db.Tx(ctx, func(q database.Querier) error {
		var touched []string
		for _, f := range files {
			if f.Error != "" {
				if _, err := q.Exec(ctx, `INSERT INTO files (library_id, rel_path, photo_id, size, mtime, error)
					VALUES ($1, $2, NULL, $3, $4, $5)
					ON CONFLICT (library_id, rel_path) DO UPDATE SET photo_id = NULL, size = $3, mtime = $4, error = $5`,
					libraryID, f.RelPath, f.Size, f.MTime, f.Error); err != nil {
					return err
				}
				continue
			}
			var inserted bool
			if err := q.QueryRow(ctx, `WITH ins AS (
					INSERT INTO photos (id, hash, size) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING RETURNING true)
				SELECT EXISTS (SELECT 1 FROM ins)`, f.PhotoID, f.Hash, f.Size).Scan(&inserted); err != nil {
				return err
			}
			if inserted {
				newPhotos = append(newPhotos, f.PhotoID)
			}
			if _, err := q.Exec(ctx, `INSERT INTO files (library_id, rel_path, photo_id, size, mtime, error)
				VALUES ($1, $2, $3, $4, $5, NULL)
				ON CONFLICT (library_id, rel_path) DO UPDATE SET photo_id = $3, size = $4, mtime = $5, error = NULL`,
				libraryID, f.RelPath, f.PhotoID, f.Size, f.MTime); err != nil {
				return err
			}
			touched = append(touched, f.PhotoID)
		}
		return refreshSearch(ctx, q, touched)
	})
	return newPhotos, interpretError("save scanned files", err)
}

// RemoveFiles forgets paths that are gone.
func (s *Storage) RemoveFiles(ctx context.Context, libraryID int, relPaths []string) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `WITH gone AS (DELETE FROM files WHERE library_id = $1 AND rel_path = ANY($2)
			RETURNING photo_id) SELECT photo_id FROM gone WHERE photo_id IS NOT NULL`, libraryID, relPaths)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		return refreshSearch(ctx, q, ids)
	})
	return interpretError("remove files", err)
}

// DeleteOrphanPhotos deletes photos that no file holds any more (removed,
// or replaced by new content at the same path); it returns their ids, so
// their pending jobs and thumbnails can go too.
func (s *Storage) DeleteOrphanPhotos(ctx context.Context) (ids []string, err error) {
	err = s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `DELETE FROM photos p
			WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.photo_id = p.id) RETURNING p.id`)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return ids, interpretError("delete orphan photos", err)
}
