package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// ownerSQL is the account a library (aliased l) belongs to: its owner, the
// first admin when it has none, 0 (the local user) while no account exists.
const ownerSQL = `coalesce(l.owner_id, (SELECT min(id) FROM users WHERE admin), 0)`

// UploadLibrary returns the id and folder of user's upload library (kind
// 'upload'), creating it at root when the user has none yet. User 0 is the
// local user without accounts: its library has no owner, so the first
// admin adopts it like the rest of the local state. A folder library
// already registered at root is refused: Shoebox never deletes a file of
// a folder library, so it never turns one into an upload library.
func (s *Storage) UploadLibrary(ctx context.Context, user int64, root string) (id int, dir string, err error) {
	err = s.db.Tx(ctx, func(q database.Querier) error {
		var owner *int64
		if user != 0 {
			owner = &user
		}
		err := q.QueryRow(ctx, `SELECT id, root FROM libraries
			WHERE kind = 'upload' AND owner_id IS NOT DISTINCT FROM $1 AND ($1 IS NOT NULL OR root = $2)
			ORDER BY id LIMIT 1`, owner, root).Scan(&id, &dir)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		dir = root
		err = q.QueryRow(ctx, `INSERT INTO libraries (root, owner_id, kind) VALUES ($1, $2, 'upload')
			ON CONFLICT (root) DO NOTHING RETURNING id`, root, owner).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s is already a library: %w", root, ErrExists)
		}
		return err
	})
	return id, dir, interpretError("upload library", err)
}

// UploadedBytes is the size of every file in the upload libraries user
// owns: what counts against the upload quota.
func (s *Storage) UploadedBytes(ctx context.Context, user int64) (int64, error) {
	var n int64
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT coalesce(sum(f.size), 0)::bigint FROM files f JOIN libraries l ON l.id = f.library_id
			WHERE l.kind = 'upload' AND `+ownerSQL+` = $1`, user).Scan(&n)
	})
	return n, interpretError("uploaded bytes", err)
}

// HaveHashes returns those of hashes (SHA-256 of whole files) that user
// already has: a photo of that content is held by a file of a library the
// user owns, and the user has not emptied it from the trash. Uploading
// those again would store nothing.
func (s *Storage) HaveHashes(ctx context.Context, user int64, hashes [][]byte) ([][]byte, error) {
	var out [][]byte
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT p.hash FROM photos p
			WHERE p.hash = ANY($2)
			AND EXISTS (SELECT 1 FROM files f JOIN libraries l ON l.id = f.library_id
				WHERE f.photo_id = p.id AND `+ownerSQL+` = $1)
			AND NOT EXISTS (SELECT 1 FROM photo_states ps WHERE ps.photo_id = p.id AND ps.user_id = $1 AND ps.purged)`,
			user, hashes)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[[]byte])
		return err
	})
	return out, interpretError("have hashes", err)
}

// Unpurge takes photo out of user's trash and emptied trash: uploading a
// photo again is asking for it back.
func (s *Storage) Unpurge(ctx context.Context, user int64, photo string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE photo_states SET trashed_at = NULL, purged = false
			WHERE user_id = $1 AND photo_id = $2 AND (trashed_at IS NOT NULL OR purged)`, user, photo)
		return err
	})
	return interpretError("unpurge", err)
}

// PurgedUploads lists the files of library that Shoebox should delete: it
// is an upload library and its owner has emptied their photo from the
// trash. It is empty for a folder library, whatever its owner did.
func (s *Storage) PurgedUploads(ctx context.Context, library int) ([]string, error) {
	var out []string
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT f.rel_path FROM files f JOIN libraries l ON l.id = f.library_id
			JOIN photo_states ps ON ps.photo_id = f.photo_id AND ps.user_id = `+ownerSQL+` AND ps.purged
			WHERE l.id = $1 AND l.kind = 'upload' ORDER BY f.rel_path`, library)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, interpretError("purged uploads", err)
}

// PurgedUploadRoots lists the upload libraries holding a file that
// PurgedUploads would list: those a scan should visit to delete them.
func (s *Storage) PurgedUploadRoots(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT l.root FROM libraries l WHERE l.kind = 'upload' AND EXISTS (
				SELECT 1 FROM files f JOIN photo_states ps ON ps.photo_id = f.photo_id AND ps.user_id = `+ownerSQL+` AND ps.purged
				WHERE f.library_id = l.id) ORDER BY l.root`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, interpretError("purged upload roots", err)
}
