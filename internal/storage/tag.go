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

// TagCounts counts the photos in scope per tag, for the limit most common.
func (s *Storage) TagCounts(ctx context.Context, scope Scope, limit int) (map[string]int, error) {
	out := map[string]int{}
	args := []any{limit}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := ""
	if v := scope.visibleSQL(arg); v != "" {
		where = " WHERE " + strings.ReplaceAll(v, "p.id", "t.photo_id")
	}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT label, count(*) FROM tags t`+where+` GROUP BY label ORDER BY 2 DESC, 1 LIMIT $1`, args...)
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
