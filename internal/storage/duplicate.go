package storage

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// DuplicatePairs returns, for every photo embedded by model, its
// neighbours closer than maxDist (cosine distance), through the HNSW index.
func (s *Storage) DuplicatePairs(ctx context.Context, model string, maxDist float64) ([][2]string, error) {
	var out [][2]string
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `SET LOCAL hnsw.ef_search = 40; SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT e.photo_id, n.photo_id FROM embeddings e
			CROSS JOIN LATERAL (SELECT e2.photo_id, e2.embedding <=> e.embedding AS dist
				FROM embeddings e2 WHERE e2.model = $1 AND e2.photo_id <> e.photo_id
				ORDER BY e2.embedding <=> e.embedding LIMIT 8) n
			WHERE e.model = $1 AND n.dist < $2 AND e.photo_id < n.photo_id`, model, maxDist)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (pair [2]string, err error) {
			return pair, r.Scan(&pair[0], &pair[1])
		})
		return err
	})
	return out, interpretError("duplicate pairs", err)
}

// ReplaceDuplicateGroups replaces every near-duplicate group with groups,
// found with model's embeddings. Groups of an earlier model go too: a photo
// has one embedding, from the current model, so only its groups still hold.
func (s *Storage) ReplaceDuplicateGroups(ctx context.Context, model string, groups [][]string) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM duplicates`); err != nil {
			return err
		}
		for _, g := range groups {
			if _, err := q.Exec(ctx, `INSERT INTO duplicates (photo_id, group_id, model)
				SELECT id, $2, $3 FROM photos WHERE id = ANY($1)`, g, g[0], model); err != nil {
				return err
			}
		}
		return nil
	})
	return interpretError("save duplicates", err)
}

// DuplicateGroups returns the near-duplicate groups, largest first, each
// as photo summaries: only the photos in scope, and only groups of which
// scope sees two or more.
func (s *Storage) DuplicateGroups(ctx context.Context, scope Scope, limit int) ([][]PhotoSummary, error) {
	var out [][]PhotoSummary
	args := []any{limit}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	visible := NotTrashed.sql(scope, arg) // a photo in the asker's trash is out of everything
	if v := scope.visibleSQL(arg); v != "" {
		visible += " AND " + v
	}
	sql := `WITH v AS (SELECT d.group_id, d.photo_id FROM duplicates d JOIN photos p ON p.id = d.photo_id WHERE ` + visible + `),
			g AS (SELECT group_id, count(*) AS n FROM v GROUP BY group_id HAVING count(*) > 1 ORDER BY count(*) DESC, group_id LIMIT $1)
		SELECT g.group_id, ` + summaryColumns + `
		FROM g JOIN v ON v.group_id = g.group_id JOIN photos p ON p.id = v.photo_id
		` + scope.summaryJoins(arg) + `
		ORDER BY g.n DESC, g.group_id, p.id`
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var (
			g, last string
			ps      PhotoSummary
		)
		_, err = pgx.ForEachRow(rows, append([]any{&g}, ps.summaryFields()...), func() error {
			if len(out) == 0 || g != last {
				out = append(out, nil)
				last = g
			}
			out[len(out)-1] = append(out[len(out)-1], ps)
			return nil
		})
		return err
	})
	return out, interpretError("duplicate groups", err)
}
