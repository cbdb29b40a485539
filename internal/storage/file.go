package storage

import (
	"context"
	"time"

	"shoebox/internal/database"
)

// EnsureLibrary returns the id of the library at root, creating it.
func (s *Storage) EnsureLibrary(ctx context.Context, root string) (int, error) {
	var id int
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `INSERT INTO libraries (root) VALUES ($1)
			ON CONFLICT (root) DO UPDATE SET root = excluded.root RETURNING id`, root).Scan(&id)
	})
	return id, interpretError("ensure library", err)
}

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
		defer rows.Close()
		for rows.Next() {
			var (
				rel string
				k   KnownFile
			)
			if err := rows.Scan(&rel, &k.Size, &k.MTime, &k.PhotoID, &k.Failed); err != nil {
				return err
			}
			out[rel] = k
		}
		return rows.Err()
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
// file points at its photo; a photo seen for the first time is created and
// its processing job enqueued in the same transaction, so a crash can never
// leave a photo without the job that indexes it. It returns the ids of
// photos that are new.
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
				if err := enqueue(ctx, q, EnqueueParams{Kind: "process", Key: f.PhotoID}); err != nil {
					return err
				}
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
		rows, err := q.Query(ctx, `DELETE FROM files WHERE library_id = $1 AND rel_path = ANY($2)
			RETURNING photo_id`, libraryID, relPaths)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id *string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			if id != nil {
				ids = append(ids, *id)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return refreshSearch(ctx, q, ids)
	})
	return interpretError("remove files", err)
}

// DeleteOrphanPhotos deletes photos that no file holds any more (removed,
// or replaced by new content at the same path) and their pending jobs; it
// returns their ids, so their thumbnails can go too.
func (s *Storage) DeleteOrphanPhotos(ctx context.Context) (ids []string, err error) {
	err = s.db.Tx(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `DELETE FROM photos p
			WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.photo_id = p.id) RETURNING p.id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM jobs WHERE kind = 'process' AND key = ANY($1) AND state = 'pending'`, ids)
		return err
	})
	return ids, interpretError("delete orphan photos", err)
}
