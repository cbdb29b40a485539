package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// Album is a person's named set of photos, as one asker sees it.
type Album struct {
	ID          int64
	Owner       int64  // 0: the local user of the no-account mode
	OwnerName   string // "" for the local user
	Name        string
	Description string
	// Cover is the photo that stands for the album: the one chosen, else
	// its most recent photo; nil for an empty album. Chosen says whether
	// it was chosen.
	Cover     *string
	Chosen    bool
	Count     int
	Role      string // the asker's: "owner", "editor" or "viewer"
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CanEdit says whether the asker may change the album's photos, name,
// description and cover.
func (a Album) CanEdit() bool { return a.Role == "owner" || a.Role == "editor" }

// AlbumMember is an account an album is shared with.
type AlbumMember struct {
	Name string
	Role string // "viewer" or "editor"
}

// Refusals of album changes. ErrNotAllowed is for one who sees the album
// but may not make this change (a viewer editing, an editor deleting); the
// others say what in the request the data refuses, in words for its maker.
var (
	ErrNotAllowed = errors.New("not allowed")
	ErrNotInAlbum = errors.New("the cover must be a photo in the album")
	ErrNoAccount  = errors.New("no such account")
	ErrOwnAlbum   = errors.New("the owner of an album is not one of its members")
)

// albumColumns select an Album for the asker $1 from albums a joined with
// its owner u and the asker's membership m (scanAlbum reads them).
const albumColumns = `a.id, a.owner_id, coalesce(u.name, ''), a.name, a.description,
	coalesce(a.cover_id, (SELECT ap.photo_id FROM album_photos ap JOIN photos p ON p.id = ap.photo_id
		WHERE ap.album_id = a.id ORDER BY p.taken_at DESC, p.id DESC LIMIT 1)), a.cover_id IS NOT NULL,
	(SELECT count(*) FROM album_photos ap WHERE ap.album_id = a.id),
	CASE WHEN a.owner_id = $1 THEN 'owner' ELSE m.role END, a.created_at, a.updated_at
	FROM albums a LEFT JOIN users u ON u.id = a.owner_id
		LEFT JOIN album_members m ON m.album_id = a.id AND m.user_id = $1
	WHERE (a.owner_id = $1 OR m.user_id IS NOT NULL)`

func scanAlbum(r pgx.CollectableRow) (Album, error) {
	var a Album
	err := r.Scan(&a.ID, &a.Owner, &a.OwnerName, &a.Name, &a.Description, &a.Cover, &a.Chosen, &a.Count, &a.Role, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// CreateAlbum makes an empty album of owner's and returns its id.
func (s *Storage) CreateAlbum(ctx context.Context, owner int64, name, description string) (int64, error) {
	var id int64
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `INSERT INTO albums (owner_id, name, description) VALUES ($1, $2, $3) RETURNING id`,
			owner, name, description).Scan(&id)
	})
	return id, interpretError("create album", err)
}

// Albums lists the albums user owns or that are shared with them, by name.
func (s *Storage) Albums(ctx context.Context, user int64) ([]Album, error) {
	var out []Album
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT `+albumColumns+` ORDER BY lower(a.name), a.id`, user)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanAlbum)
		return err
	})
	return out, interpretError("albums", err)
}

// Album returns album id as user sees it: ErrNotFound when user neither
// owns it nor is a member (the same as for no such album).
func (s *Storage) Album(ctx context.Context, user, id int64) (Album, error) {
	var a Album
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT `+albumColumns+` AND a.id = $2`, user, id)
		if err != nil {
			return err
		}
		a, err = pgx.CollectExactlyOneRow(rows, scanAlbum)
		return err
	})
	return a, interpretError("album "+strconv.FormatInt(id, 10), err)
}

// roleIn reads user's role in album id, locking the album against
// concurrent changes: ErrNotFound when they have none, ErrNotAllowed
// when it is not among allowed.
func roleIn(ctx context.Context, q database.Querier, user, id int64, allowed ...string) error {
	var role *string
	err := q.QueryRow(ctx, `SELECT CASE WHEN a.owner_id = $1 THEN 'owner' ELSE
			(SELECT role FROM album_members m WHERE m.album_id = a.id AND m.user_id = $1) END
		FROM albums a WHERE a.id = $2 FOR UPDATE`, user, id).Scan(&role)
	if err != nil {
		return err
	}
	if role == nil {
		return pgx.ErrNoRows
	}
	for _, r := range allowed {
		if *role == r {
			return nil
		}
	}
	return ErrNotAllowed
}

// AlbumChange is what UpdateAlbum changes: nil fields stay.
type AlbumChange struct {
	Name        *string
	Description *string
	Cover       *string // "" clears the choice
}

// UpdateAlbum renames, describes or sets the cover of album id, as user
// (its owner or an editor). A cover must be a photo in the album
// (ErrNotInAlbum).
func (s *Storage) UpdateAlbum(ctx context.Context, user, id int64, c AlbumChange) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := roleIn(ctx, q, user, id, "owner", "editor"); err != nil {
			return err
		}
		if c.Cover != nil && *c.Cover != "" {
			var in bool
			if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM album_photos WHERE album_id = $1 AND photo_id = $2)`, id, *c.Cover).Scan(&in); err != nil {
				return err
			}
			if !in {
				return ErrNotInAlbum
			}
		}
		_, err := q.Exec(ctx, `UPDATE albums SET name = coalesce($2, name), description = coalesce($3, description),
				cover_id = CASE WHEN $4::text IS NULL THEN cover_id ELSE nullif($4, '') END, updated_at = now()
			WHERE id = $1`, id, c.Name, c.Description, c.Cover)
		return err
	})
	return interpretError("update album", err)
}

// DeleteAlbum removes album id (its owner only); its photos stay.
func (s *Storage) DeleteAlbum(ctx context.Context, user, id int64) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := roleIn(ctx, q, user, id, "owner"); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM albums WHERE id = $1`, id)
		return err
	})
	return interpretError("delete album", err)
}

// AddToAlbum adds photos to album id, as scope's user (its owner or an
// editor). Every photo must be one scope sees: if any is not, nothing is
// added and the answer is ErrNotFound, naming none of them. It returns
// how many were not in the album yet.
func (s *Storage) AddToAlbum(ctx context.Context, scope Scope, id int64, photos []string) (int, error) {
	var n int64
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := roleIn(ctx, q, scope.User(), id, "owner", "editor"); err != nil {
			return err
		}
		if err := allVisible(ctx, q, scope, photos); err != nil {
			return err
		}
		tag, err := q.Exec(ctx, `INSERT INTO album_photos (album_id, photo_id, added_by)
			SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING`, id, photos, scope.User())
		n = tag.RowsAffected()
		if err == nil && n > 0 {
			_, err = q.Exec(ctx, `UPDATE albums SET updated_at = now() WHERE id = $1`, id)
		}
		return err
	})
	return int(n), interpretError("add to album", err)
}

// RemoveFromAlbum takes photos out of album id, as scope's user (its owner
// or an editor), under the same rule as AddToAlbum. A removed cover is
// no longer the cover. It returns how many were in the album.
func (s *Storage) RemoveFromAlbum(ctx context.Context, scope Scope, id int64, photos []string) (int, error) {
	var n int64
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := roleIn(ctx, q, scope.User(), id, "owner", "editor"); err != nil {
			return err
		}
		if err := allVisible(ctx, q, scope, photos); err != nil {
			return err
		}
		tag, err := q.Exec(ctx, `DELETE FROM album_photos WHERE album_id = $1 AND photo_id = ANY($2)`, id, photos)
		n = tag.RowsAffected()
		if err == nil && n > 0 {
			_, err = q.Exec(ctx, `UPDATE albums SET updated_at = now(),
				cover_id = CASE WHEN cover_id = ANY($2) THEN NULL ELSE cover_id END WHERE id = $1`, id, photos)
		}
		return err
	})
	return int(n), interpretError("remove from album", err)
}

// allVisible checks that scope sees every photo of ids (ErrNotFound
// otherwise, naming none).
func allVisible(ctx context.Context, q database.Querier, scope Scope, ids []string) error {
	args := []any{ids}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := ""
	if v := scope.visibleSQL(arg); v != "" {
		where = " AND " + v
	}
	var seen, want int
	err := q.QueryRow(ctx, `SELECT (SELECT count(*) FROM photos p WHERE p.id = ANY($1)`+where+`),
		(SELECT count(DISTINCT x) FROM unnest($1::text[]) x)`, args...).Scan(&seen, &want)
	if err != nil {
		return err
	}
	if seen != want {
		return fmt.Errorf("%d of %d photos: %w", want-seen, want, ErrNotFound)
	}
	return nil
}

// ShareAlbum gives the account named member role ("viewer" or "editor")
// in album id, or changes the role it has; only the owner shares.
func (s *Storage) ShareAlbum(ctx context.Context, owner, id int64, member, role string) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := roleIn(ctx, q, owner, id, "owner"); err != nil {
			return err
		}
		var uid int64
		if err := q.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, member).Scan(&uid); errors.Is(err, pgx.ErrNoRows) {
			return ErrNoAccount
		} else if err != nil {
			return err
		}
		if uid == owner {
			return ErrOwnAlbum
		}
		_, err := q.Exec(ctx, `INSERT INTO album_members (album_id, user_id, role) VALUES ($1, $2, $3)
			ON CONFLICT (album_id, user_id) DO UPDATE SET role = EXCLUDED.role`, id, uid, role)
		return err
	})
	return interpretError("share album", err)
}

// UnshareAlbum ends the share of album id with the account named member:
// the owner ends anyone's, a member their own. It is not an error when
// there was none.
func (s *Storage) UnshareAlbum(ctx context.Context, user, id int64, member string) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		err := roleIn(ctx, q, user, id, "owner")
		if errors.Is(err, ErrNotAllowed) {
			var self bool
			if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1 AND name = $2)`, user, member).Scan(&self); err != nil {
				return err
			}
			if self {
				err = nil
			}
		}
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM album_members WHERE album_id = $1 AND user_id = (SELECT id FROM users WHERE name = $2)`, id, member)
		return err
	})
	return interpretError("unshare album", err)
}

// AlbumMembers lists the accounts album id is shared with, by name.
func (s *Storage) AlbumMembers(ctx context.Context, id int64) ([]AlbumMember, error) {
	var out []AlbumMember
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT u.name, m.role FROM album_members m JOIN users u ON u.id = m.user_id
			WHERE m.album_id = $1 ORDER BY u.name`, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[AlbumMember])
		return err
	})
	return out, interpretError("album members", err)
}

// adoptLocalAlbums gives the albums of the no-account mode's local user
// (0) to the account admin, the first one created.
func adoptLocalAlbums(ctx context.Context, q database.Querier, admin int64) error {
	if _, err := q.Exec(ctx, `UPDATE albums SET owner_id = $1 WHERE owner_id = 0`, admin); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `UPDATE album_photos SET added_by = $1 WHERE added_by = 0`, admin)
	return err
}

// albumVisibility reads which photos each user sees through albums (for
// VisibilitySince).
func albumVisibility(ctx context.Context, q database.Querier) ([]UserPhoto, error) {
	rows, err := q.Query(ctx, `SELECT a.owner_id, ap.photo_id FROM album_photos ap JOIN albums a ON a.id = ap.album_id
		UNION SELECT m.user_id, ap.photo_id FROM album_photos ap JOIN album_members m USING (album_id)`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[UserPhoto])
}

// UserPhoto says that user sees photo.
type UserPhoto struct {
	User  int64
	Photo string
}
