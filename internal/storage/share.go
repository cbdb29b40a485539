package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// Share is a share link, as its owner lists it (never its key).
type Share struct {
	ID            int64
	Owner         int64
	AlbumID       *int64
	Password      string // Argon2id PHC string; "" when none is asked
	AllowDownload bool
	ShowMetadata  bool
	ExpiresAt     *time.Time
	RevokedAt     *time.Time
	CreatedAt     time.Time
	Photos        int
}

// NewShare is what AddShare makes.
type NewShare struct {
	KeyHash       []byte
	AlbumID       *int64
	IDs           []string // the selection, when AlbumID is nil
	Password      string   // Argon2id PHC string, or ""
	AllowDownload bool
	ShowMetadata  bool
	ExpiresAt     *time.Time
}

// checkVisible fails with ErrNotFound unless scope sees every photo of
// ids (and has not emptied it from its trash). It names none of them.
func checkVisible(ctx context.Context, q database.Querier, scope Scope, ids []string) error {
	args := []any{ids}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	visible := "true"
	if v := scope.visibleSQL(arg); v != "" {
		visible = v
	}
	purged := "NOT EXISTS (SELECT 1 FROM photo_states hs WHERE hs.photo_id = p.id AND hs.user_id = " + arg(scope.user) + " AND hs.purged)"
	var found int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM photos p WHERE p.id = ANY($1) AND `+visible+` AND `+purged, args...).Scan(&found); err != nil {
		return err
	}
	distinct := map[string]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	if found != len(distinct) {
		return fmt.Errorf("%d of %d photos: %w", len(distinct)-found, len(distinct), ErrNotFound)
	}
	return nil
}

// AddShare makes a share link of scope's user for a selection of photos
// they see (ErrNotFound otherwise, naming none).
func (s *Storage) AddShare(ctx context.Context, scope Scope, n NewShare) (int64, error) {
	var id int64
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if n.AlbumID == nil {
			if len(n.IDs) == 0 || len(n.IDs) > MaxStateIDs {
				return fmt.Errorf("%d photos (1 to %d)", len(n.IDs), MaxStateIDs)
			}
			if err := checkVisible(ctx, q, scope, n.IDs); err != nil {
				return err
			}
		} else if err := albumShareable(ctx, q, scope.user, *n.AlbumID); err != nil {
			return err
		}
		var pw *string
		if n.Password != "" {
			pw = &n.Password
		}
		if err := q.QueryRow(ctx, `INSERT INTO shares (owner_id, key_hash, album_id, password, allow_download, show_metadata, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, scope.user, n.KeyHash, n.AlbumID, pw,
			n.AllowDownload, n.ShowMetadata, n.ExpiresAt).Scan(&id); err != nil {
			return err
		}
		if n.AlbumID != nil {
			return nil
		}
		_, err := q.Exec(ctx, `INSERT INTO share_photos (share_id, photo_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, id, n.IDs)
		return err
	})
	return id, interpretError("add share", err)
}

// albumShareable fails unless user owns album: only an album's owner
// makes links to it (ErrNotAllowed for its members, ErrNotFound for
// anyone else).
func albumShareable(ctx context.Context, q database.Querier, user, album int64) error {
	if err := roleIn(ctx, q, user, album, "owner"); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("album %d: %w", album, ErrNotFound)
		}
		return err
	}
	return nil
}

// shareColumns reads a Share; Photos counts what the link shows: its
// selection, or what its album holds now.
var shareColumns = `s.id, s.owner_id, s.album_id, coalesce(s.password, ''), s.allow_download, s.show_metadata,
	s.expires_at, s.revoked_at, s.created_at,
	(SELECT count(*) FROM (SELECT photo_id FROM share_photos sp WHERE sp.share_id = s.id UNION ` + albumPhotosOf("s.album_id") + `) shown)::int`

// ShareByKey finds a link by its key's hash (revoked and expired ones
// too: the caller answers 410 for them).
func (s *Storage) ShareByKey(ctx context.Context, keyHash []byte) (Share, error) {
	var out Share
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT `+shareColumns+` FROM shares s WHERE s.key_hash = $1`, keyHash)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[Share])
		return err
	})
	return out, interpretError("share", err)
}

// Shares lists owner's links, newest first.
func (s *Storage) Shares(ctx context.Context, owner int64) ([]Share, error) {
	var out []Share
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT `+shareColumns+` FROM shares s WHERE s.owner_id = $1 ORDER BY s.id DESC`, owner)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Share])
		return err
	})
	return out, interpretError("shares", err)
}

// RevokeShare ends owner's link id (ErrNotFound for anyone else's).
func (s *Storage) RevokeShare(ctx context.Context, owner, id int64) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		tag, err := q.Exec(ctx, `UPDATE shares SET revoked_at = now() WHERE id = $1 AND owner_id = $2 AND revoked_at IS NULL`, id, owner)
		if err == nil && tag.RowsAffected() == 0 {
			err = pgx.ErrNoRows
		}
		return err
	})
	return interpretError("revoke share", err)
}

// ShareAccess is a live link as media routes need it.
type ShareAccess struct {
	ID            int64
	AllowDownload bool
	ShowMetadata  bool
	ExpiresAt     *time.Time
	Photos        []string
}

// liveShares reads every link not revoked, with its photos: a Live
// Photo's movie comes with its still, so the visitor sees it move.
func liveShares(ctx context.Context, q database.Querier) ([]ShareAccess, error) {
	rows, err := q.Query(ctx, `SELECT s.id, s.allow_download, s.show_metadata, s.expires_at,
			ARRAY(WITH sh AS (SELECT photo_id FROM share_photos sp WHERE sp.share_id = s.id UNION `+albumPhotosOf("s.album_id")+`)
				SELECT photo_id FROM sh
				UNION SELECT lp.live_video FROM photos lp JOIN sh ON sh.photo_id = lp.id WHERE lp.live_video IS NOT NULL)
		FROM shares s WHERE s.revoked_at IS NULL AND (s.expires_at IS NULL OR s.expires_at > now())`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[ShareAccess])
}

// albumPhotosOf selects the photo ids of the album given by expr: a link
// to an album shows what the album holds now.
func albumPhotosOf(expr string) string {
	return `SELECT photo_id FROM album_photos WHERE album_id = ` + expr
}

// sharePhotoSQL is the condition that the photo aliased p is one of
// share's (a placeholder): of its selection, or of its album.
func sharePhotoSQL(share string) string {
	return "(EXISTS (SELECT 1 FROM share_photos sp WHERE sp.share_id = " + share + " AND sp.photo_id = p.id) OR p.id IN (" +
		albumPhotosOf("(SELECT album_id FROM shares WHERE id = "+share+")") + "))"
}

// LiveShares reads every live link with its photos (without accounts,
// where no visibility table is kept, the auth poll reads them alone).
func (s *Storage) LiveShares(ctx context.Context) ([]ShareAccess, error) {
	var out []ShareAccess
	err := s.db.Do(ctx, func(q database.Querier) error {
		var err error
		out, err = liveShares(ctx, q)
		return err
	})
	return out, interpretError("live shares", err)
}

// PhotoNames returns the file name scope gives each photo of ids (its
// first path in scope's libraries, else its id), failing with ErrNotFound
// unless scope sees them all (naming none).
func (s *Storage) PhotoNames(ctx context.Context, scope Scope, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := checkVisible(ctx, q, scope, ids); err != nil {
			return err
		}
		var args []any
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		in := arg(ids)
		rows, err := q.Query(ctx, `SELECT p.id, coalesce(f.rel_path, '') FROM photos p `+scope.summaryJoins(arg)+` WHERE p.id = ANY(`+in+`)`, args...)
		if err != nil {
			return err
		}
		var id, rel string
		_, err = pgx.ForEachRow(rows, []any{&id, &rel}, func() error { out[id] = rel; return nil })
		return err
	})
	return out, interpretError("photo names", err)
}
