package storage

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// Tag is a label given to a photo, with its score.
type Tag struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// SaveTags replaces the tags of photos (by id) given by model.
func (s *Storage) SaveTags(ctx context.Context, model string, tags map[string][]Tag) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		for id, ts := range tags {
			if _, err := q.Exec(ctx, `DELETE FROM tags WHERE photo_id = $1`, id); err != nil {
				return err
			}
			for _, t := range ts {
				if _, err := q.Exec(ctx, `INSERT INTO tags (photo_id, label, score, model)
					SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM photos WHERE id = $1)`, id, t.Label, t.Score, model); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return interpretError("save tags", err)
}

// TagCounts counts the photos in scope per tag, for the limit most common:
// from the counters of migration 018 (tag_counts, by set of libraries and
// label), plus the tags of photos only an album of the asker shows.
// TagCountsByCounting counts the tags themselves.
func (s *Storage) TagCounts(ctx context.Context, scope Scope, limit int) (map[string]int, error) {
	args := []any{limit}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	counted := `SELECT label, tags FROM tag_counts WHERE tags <> 0`
	extra := ""
	if scope.Limited() {
		libs := arg(scope.libraries) + "::int[]"
		counted += " AND libs && " + libs
		if scope.user != 0 {
			extra = ` UNION ALL SELECT t.label, 1 FROM tags t WHERE NOT (t.libs && ` + libs + `)
				AND EXISTS (SELECT 1 FROM album_photos vap WHERE vap.photo_id = t.photo_id AND vap.album_id IN (` + albumsOfSQL(arg(scope.user)) + `))`
		}
	}
	return s.tagCounts(ctx, `SELECT label, sum(n)::bigint FROM (`+counted+extra+`) d (label, n)
		GROUP BY label HAVING sum(n) <> 0 ORDER BY 2 DESC, 1 LIMIT $1`, args)
}

// TagCountsByCounting is TagCounts counted from the tags of every photo in
// scope: the truth the counters are tested against.
func (s *Storage) TagCountsByCounting(ctx context.Context, scope Scope, limit int) (map[string]int, error) {
	args := []any{limit}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := ""
	if v := scope.visibleSQL(arg); v != "" {
		where = " WHERE " + strings.ReplaceAll(v, "p.id", "t.photo_id")
	}
	return s.tagCounts(ctx, `SELECT label, count(*) FROM tags t`+where+` GROUP BY label ORDER BY 2 DESC, 1 LIMIT $1`, args)
}

func (s *Storage) tagCounts(ctx context.Context, sql string, args []any) (map[string]int, error) {
	out := map[string]int{}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var (
			l string
			n int
		)
		_, err = pgx.ForEachRow(rows, []any{&l, &n}, func() error { out[l] = n; return nil })
		return err
	})
	return out, interpretError("tag counts", err)
}
