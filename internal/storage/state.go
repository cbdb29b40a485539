package storage

import (
	"context"
	"fmt"
	"time"

	"shoebox/internal/database"
)

// StateFilter narrows a photo list by the asker's own state of its photos.
type StateFilter int

const (
	// Default lists leave out archived and trashed photos.
	Default StateFilter = iota
	// Favorites are the favourites not in the trash (archived ones too).
	Favorites
	// Archived photos are those archived and not in the trash.
	Archived
	// Trashed photos are those in the trash, not yet emptied.
	Trashed
	// NotTrashed is everything but the trash: similar photos, duplicates.
	NotTrashed
	// AnyState is every photo: a share link's visitor has no state.
	AnyState
)

// sql is f's condition on the photo aliased p for scope's user.
func (f StateFilter) sql(scope Scope, arg func(any) string) string {
	if f == AnyState {
		return "true"
	}
	mine := "hs.photo_id = p.id AND hs.user_id = " + arg(scope.user)
	switch f {
	case Favorites:
		return "EXISTS (SELECT 1 FROM photo_states hs WHERE " + mine + " AND hs.favorite AND hs.trashed_at IS NULL AND NOT hs.purged)"
	case Archived:
		return "EXISTS (SELECT 1 FROM photo_states hs WHERE " + mine + " AND hs.archived AND hs.trashed_at IS NULL AND NOT hs.purged)"
	case Trashed:
		return "EXISTS (SELECT 1 FROM photo_states hs WHERE " + mine + " AND hs.trashed_at IS NOT NULL AND NOT hs.purged)"
	case NotTrashed:
		return "NOT EXISTS (SELECT 1 FROM photo_states hs WHERE " + mine + " AND (hs.trashed_at IS NOT NULL OR hs.purged))"
	default:
		return "NOT EXISTS (SELECT 1 FROM photo_states hs WHERE " + mine + " AND (hs.archived OR hs.trashed_at IS NOT NULL OR hs.purged))"
	}
}

// StatePatch changes some of a photo's per-user state; nil leaves a field
// as it is.
type StatePatch struct {
	Favorite *bool `json:"favorite"`
	Archived *bool `json:"archived"`
	Trashed  *bool `json:"trashed"`
}

// Empty says whether p changes nothing.
func (p StatePatch) Empty() bool { return p.Favorite == nil && p.Archived == nil && p.Trashed == nil }

// maxStateIDs bounds one bulk change.
const MaxStateIDs = 5000

// SetStates applies p to photos ids, as scope's user. Every id must be a
// photo the scope sees (and not emptied from its trash): otherwise nothing
// changes and ErrNotFound names none of them. It returns how many photos
// were changed.
func (s *Storage) SetStates(ctx context.Context, scope Scope, ids []string, p StatePatch) (int, error) {
	if len(ids) == 0 || len(ids) > MaxStateIDs {
		return 0, fmt.Errorf("set states: %d photos (1 to %d)", len(ids), MaxStateIDs)
	}
	var n int
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := checkVisible(ctx, q, scope, ids); err != nil {
			return err
		}
		distinct := map[string]bool{}
		for _, id := range ids {
			distinct[id] = true
		}
		var trashedAt any // nil: leave; else set or clear
		setTrash := p.Trashed != nil
		if setTrash && *p.Trashed {
			trashedAt = time.Now()
		}
		tag, err := q.Exec(ctx, `INSERT INTO photo_states (user_id, photo_id, favorite, archived, trashed_at)
			SELECT $2, id, coalesce($3, false), coalesce($4, false), CASE WHEN $5 THEN $6::timestamptz END FROM unnest($1::text[]) AS id
			ON CONFLICT (user_id, photo_id) DO UPDATE SET
				favorite = coalesce($3, photo_states.favorite),
				archived = coalesce($4, photo_states.archived),
				trashed_at = CASE WHEN NOT $5 THEN photo_states.trashed_at
					WHEN $6::timestamptz IS NULL THEN NULL
					ELSE coalesce(photo_states.trashed_at, $6::timestamptz) END`,
			keys(distinct), scope.user, p.Favorite, p.Archived, setTrash, trashedAt)
		n = int(tag.RowsAffected())
		return err
	})
	return n, interpretError("set photo states", err)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// EmptyTrash empties scope's user's trash now: its photos are hidden for
// good (the files stay where they are). It returns how many.
func (s *Storage) EmptyTrash(ctx context.Context, user int64) (int, error) {
	var n int64
	err := s.db.Do(ctx, func(q database.Querier) error {
		tag, err := q.Exec(ctx, `UPDATE photo_states SET purged = true
			WHERE user_id = $1 AND trashed_at IS NOT NULL AND NOT purged`, user)
		n = tag.RowsAffected()
		return err
	})
	return int(n), interpretError("empty trash", err)
}

// PurgeTrash empties, for every user, what was trashed more than age ago.
func (s *Storage) PurgeTrash(ctx context.Context, age time.Duration) (int, error) {
	var n int64
	err := s.db.Do(ctx, func(q database.Querier) error {
		tag, err := q.Exec(ctx, `UPDATE photo_states SET purged = true
			WHERE trashed_at < now() - $1::interval AND NOT purged`, age)
		n = tag.RowsAffected()
		return err
	})
	return int(n), interpretError("purge trash", err)
}
