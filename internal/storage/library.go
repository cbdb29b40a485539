package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// Scope limits what a request sees to some libraries: those its user owns
// or that are shared with them. The zero Scope sees every library (no
// accounts, the command line, or a user who may see them all); a limited
// Scope of no library sees nothing.
type Scope struct {
	libraries []int32
	limited   bool
	user      int64 // whose per-user state (favourites, archive, trash) applies; 0: the one local user without accounts
}

// Only is the Scope of exactly these libraries (sorted, no repeats).
func Only(libraries []int32) Scope {
	l := slices.Clone(libraries)
	slices.Sort(l)
	return Scope{libraries: slices.Compact(l), limited: true}
}

// As is s for user: the account whose own state (favourites, archive,
// trash, albums) the queries of s apply.
func (s Scope) As(user int64) Scope { s.user = user; return s }

// User is the account s is for (0: no accounts, the local user).
func (s Scope) User() int64 { return s.user }

// Libraries are the library ids of a limited Scope, sorted (not to be
// changed).
func (s Scope) Libraries() []int32 { return s.libraries }

// Limited says whether s sees fewer than every library.
func (s Scope) Limited() bool { return s.limited }

// Key names s for caches of answers: its user, then "" for every library
// or the library ids ("u3:1,4"; "u3:-" for none).
func (s Scope) Key() string {
	var b strings.Builder
	b.WriteString("u" + strconv.FormatInt(s.user, 10) + ":")
	if !s.limited {
		return b.String()
	}
	if len(s.libraries) == 0 {
		return b.String() + "-"
	}
	for i, id := range s.libraries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(id)))
	}
	return b.String()
}

// visibleSQL is the condition that the photo aliased p is in one of s's
// libraries or in an album its user owns or was given (sharing an album
// shows its photos outside one's libraries: that is its point); "" when s
// sees everything. The libraries are its first argument (Photo relies on
// it). User 0 in a limited scope is no one signed in: no album of the
// local user shows.
func (s Scope) visibleSQL(arg func(any) string) string {
	if !s.limited {
		return ""
	}
	libs := "EXISTS (SELECT 1 FROM files vf WHERE vf.photo_id = p.id AND vf.library_id = ANY(" + arg(s.libraries) + "))"
	if s.user == 0 {
		return libs
	}
	return "(" + libs + " OR EXISTS (SELECT 1 FROM album_photos vap WHERE vap.photo_id = p.id AND vap.album_id IN (" +
		albumsOfSQL(arg(s.user)) + ")))"
}

// albumsOfSQL selects the ids of the albums user (a placeholder) owns or
// is a member of.
func albumsOfSQL(user string) string {
	return "SELECT va.id FROM albums va WHERE va.owner_id = " + user +
		" UNION ALL SELECT vm.album_id FROM album_members vm WHERE vm.user_id = " + user
}

// textMatchSQL is the condition that the searchable text of the photo
// aliased p matches pattern (a placeholder) with op (LIKE, ~). A photo's
// search_text holds the paths of all its files, whoever's they are: in a
// limited scope a word must also be found in the photo's own metadata or
// in the path of one of its files in the scope, so no one finds a photo
// by the name another user gave it. (search_text still narrows the
// candidates first, through its trigram index.)
func (s Scope) textMatchSQL(op, pattern string, arg func(any) string) string {
	cond := "p.search_text " + op + " " + pattern
	if !s.limited {
		return cond
	}
	return "(" + cond + " AND (" + searchableMeta + " " + op + " " + pattern +
		" OR EXISTS (SELECT 1 FROM files vf WHERE vf.photo_id = p.id AND vf.library_id = ANY(" + arg(s.libraries) +
		") AND lower(vf.rel_path) " + op + " " + pattern + ")))"
}

// summaryJoins joins the photo aliased p with what summaryColumns read
// besides it: its first path (alias f) in s's libraries, so a user never
// sees the name another user gave the same photo, and s's user's state of
// it (alias ps).
func (s Scope) summaryJoins(arg func(any) string) string {
	lib := ""
	if s.limited {
		lib = " AND library_id = ANY(" + arg(s.libraries) + ")"
	}
	return `LEFT JOIN LATERAL (SELECT rel_path FROM files WHERE photo_id = p.id` + lib + ` ORDER BY rel_path LIMIT 1) f ON true
		LEFT JOIN photo_states ps ON ps.photo_id = p.id AND ps.user_id = ` + arg(s.user)
}

// Library is a photo folder, whose it is and who else sees it.
type Library struct {
	ID     int
	Root   string
	Owner  string   // "" while no account exists
	Shared []string // the accounts it is shared with, by name
}

// ErrOwned is returned when adding a library that another account owns.
var ErrOwned = errors.New("owned by another account")

// EnsureLibrary returns the id of the library at root, creating it for the
// first admin (none while no account exists). It never changes an existing
// library, so a scan does not disturb who sees what.
func (s *Storage) EnsureLibrary(ctx context.Context, root string) (int, error) {
	var id int
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `WITH ins AS (
				INSERT INTO libraries (root, owner_id) VALUES ($1, (SELECT min(id) FROM users WHERE admin))
				ON CONFLICT (root) DO NOTHING RETURNING id)
			SELECT id FROM ins UNION ALL SELECT id FROM libraries WHERE root = $1 LIMIT 1`, root).Scan(&id)
	})
	return id, interpretError("ensure library", err)
}

// AddLibrary registers the library at root as owner's. A library already
// there is given to owner when it has no owner yet; one another account
// owns is refused (ErrOwned). It returns the id and whether it was new.
func (s *Storage) AddLibrary(ctx context.Context, root, owner string) (id int, added bool, err error) {
	err = s.db.Tx(ctx, func(q database.Querier) error {
		var uid int64
		if err := q.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, owner).Scan(&uid); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no account %q: %w", owner, ErrNotFound)
		} else if err != nil {
			return err
		}
		var cur *int64
		err := q.QueryRow(ctx, `SELECT id, coalesce(owner_id, (SELECT min(id) FROM users WHERE admin)) FROM libraries WHERE root = $1 FOR UPDATE`, root).Scan(&id, &cur)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			added = true
			return q.QueryRow(ctx, `INSERT INTO libraries (root, owner_id) VALUES ($1, $2) RETURNING id`, root, uid).Scan(&id)
		case err != nil:
			return err
		case cur != nil && *cur != uid:
			return ErrOwned
		}
		_, err = q.Exec(ctx, `UPDATE libraries SET owner_id = $2 WHERE id = $1 AND owner_id IS DISTINCT FROM $2`, id, uid)
		return err
	})
	if errors.Is(err, ErrOwned) {
		return 0, false, fmt.Errorf("library %s: %w", root, ErrOwned)
	}
	return id, added, interpretError("add library", err)
}

// ShareLibrary shares the library at root with the account user, or ends
// the share (share false). Sharing with the owner is refused.
func (s *Storage) ShareLibrary(ctx context.Context, root, user string, share bool) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		var lib int
		var owner, uid int64
		err := q.QueryRow(ctx, `SELECT id, coalesce(owner_id, (SELECT min(id) FROM users WHERE admin), 0) FROM libraries WHERE root = $1`, root).Scan(&lib, &owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no library %s: %w", root, ErrNotFound)
		} else if err != nil {
			return err
		}
		err = q.QueryRow(ctx, `SELECT id FROM users WHERE name = $1`, user).Scan(&uid)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no account %q: %w", user, ErrNotFound)
		} else if err != nil {
			return err
		}
		if !share {
			_, err = q.Exec(ctx, `DELETE FROM library_shares WHERE library_id = $1 AND user_id = $2`, lib, uid)
			return err
		}
		if uid == owner {
			return fmt.Errorf("library %s: %w", root, ErrExists)
		}
		_, err = q.Exec(ctx, `INSERT INTO library_shares (library_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, lib, uid)
		return err
	})
	return interpretError("share library", err)
}

// Libraries lists every library with its owner and shares, by root.
func (s *Storage) Libraries(ctx context.Context) ([]Library, error) {
	var out []Library
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT l.id, l.root, coalesce(o.name, ''),
				ARRAY(SELECT u.name FROM library_shares s JOIN users u ON u.id = s.user_id WHERE s.library_id = l.id ORDER BY u.name)
			FROM libraries l LEFT JOIN users o ON o.id = coalesce(l.owner_id, (SELECT min(id) FROM users WHERE admin))
			ORDER BY l.root`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Library])
		return err
	})
	return out, interpretError("libraries", err)
}

// LibraryRoots lists the folders of every library.
func (s *Storage) LibraryRoots(ctx context.Context) ([]string, error) {
	var out []string
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT root FROM libraries ORDER BY root`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, interpretError("library roots", err)
}

// VisibilityMark is where a process's copy of who sees what stands: the
// epoch it was loaded at, and the oldest transaction that was still
// running when it last read the files written since.
type VisibilityMark struct {
	Epoch int64
	Xmin  uint64
}

// LibraryAccess is one library and the accounts that see it: its owner
// (the first admin when it has none) and those it is shared with.
type LibraryAccess struct {
	ID    int32
	Root  string
	Users []int64
}

// PhotoLibrary says that a photo is held by a file of a library.
type PhotoLibrary struct {
	Photo   string
	Library int32
}

// VisibilityChanges is what changed since a mark.
type VisibilityChanges struct {
	// Full: Libraries and Files are everything (the epoch moved: access
	// may have shrunk); otherwise Libraries is nil and Files holds the
	// files written since the mark (some seen already: adding is
	// idempotent).
	Full      bool
	Libraries []LibraryAccess
	Files     []PhotoLibrary
	Shares    []ShareAccess // live share links (Full only)
	// Albums (on a Full load only) are the photos each user sees through
	// the albums they own or are members of, libraries aside.
	Albums []UserPhoto
	Mark   VisibilityMark
}

// VisibilitySince reads what changed in who sees which photo since m
// (everything when m is the zero mark or the epoch moved).
func (s *Storage) VisibilitySince(ctx context.Context, m VisibilityMark) (VisibilityChanges, error) {
	var c VisibilityChanges
	err := s.db.Do(ctx, func(q database.Querier) error {
		// The xmin is read before the files: a transaction older than it
		// had committed by then, so its files are read now; one not older
		// is read again next round.
		var xmin string
		if err := q.QueryRow(ctx, `SELECT visibility_epoch(), pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&c.Mark.Epoch, &xmin); err != nil {
			return err
		}
		x, err := strconv.ParseUint(xmin, 10, 64)
		if err != nil {
			return fmt.Errorf("xmin %q: %w", xmin, err)
		}
		c.Mark.Xmin = x
		c.Full = m.Epoch != c.Mark.Epoch
		var rows pgx.Rows
		if c.Full {
			lr, err := q.Query(ctx, `SELECT l.id, l.root,
					ARRAY(SELECT u FROM (SELECT coalesce(l.owner_id, (SELECT min(id) FROM users WHERE admin)) AS u
						UNION SELECT user_id FROM library_shares s WHERE s.library_id = l.id) who WHERE u IS NOT NULL)
				FROM libraries l`)
			if err != nil {
				return err
			}
			if c.Libraries, err = pgx.CollectRows(lr, pgx.RowToStructByPos[LibraryAccess]); err != nil {
				return err
			}
			if c.Shares, err = liveShares(ctx, q); err != nil {
				return err
			}
			if c.Albums, err = albumVisibility(ctx, q); err != nil {
				return err
			}
			rows, err = q.Query(ctx, `SELECT photo_id, library_id FROM files WHERE photo_id IS NOT NULL`)
			if err != nil {
				return err
			}
		} else {
			rows, err = q.Query(ctx, `SELECT photo_id, library_id FROM files
				WHERE xid >= $1::text::xid8 AND photo_id IS NOT NULL`, strconv.FormatUint(m.Xmin, 10))
			if err != nil {
				return err
			}
		}
		var pl PhotoLibrary
		_, err = pgx.ForEachRow(rows, []any{&pl.Photo, &pl.Library}, func() error {
			c.Files = append(c.Files, pl)
			return nil
		})
		return err
	})
	return c, interpretError("visibility", err)
}
