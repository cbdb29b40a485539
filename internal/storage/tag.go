package storage

import (
	"context"
	"strconv"

	"shoebox/internal/database"
)

// LabelVectors returns the stored label embeddings of model.
func (s *Storage) LabelVectors(ctx context.Context, model string) (map[string][]float32, error) {
	out := map[string][]float32{}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT label, embedding::text FROM label_embeddings WHERE model = $1`, model)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l, txt string
			if err := rows.Scan(&l, &txt); err != nil {
				return err
			}
			v, err := parseVector(txt)
			if err != nil {
				return err
			}
			out[l] = v
		}
		return rows.Err()
	})
	return out, interpretError("label vectors", err)
}

// SaveLabelVectors stores label embeddings of model.
func (s *Storage) SaveLabelVectors(ctx context.Context, model string, vs map[string][]float32) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		for l, v := range vs {
			if _, err := q.Exec(ctx, `INSERT INTO label_embeddings (model, label, embedding) VALUES ($1, $2, $3::vector)
				ON CONFLICT (model, label) DO UPDATE SET embedding = excluded.embedding`, model, l, vectorLiteral(v)); err != nil {
				return err
			}
		}
		return nil
	})
	return interpretError("save label vectors", err)
}

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

// TagCounts counts photos per tag, most common first.
func (s *Storage) TagCounts(ctx context.Context, limit int) (map[string]int, error) {
	out := map[string]int{}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT label, count(*) FROM tags GROUP BY label ORDER BY 2 DESC, 1 LIMIT `+strconv.Itoa(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				l string
				n int
			)
			if err := rows.Scan(&l, &n); err != nil {
				return err
			}
			out[l] = n
		}
		return rows.Err()
	})
	return out, interpretError("tag counts", err)
}

// DuplicatePairs returns, for every photo embedded by model, its
// neighbours closer than maxDist (cosine distance), through the HNSW index.
func (s *Storage) DuplicatePairs(ctx context.Context, model string, maxDist float64) ([][2]string, error) {
	var out [][2]string
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `SET LOCAL hnsw.ef_search = 40`); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
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
		defer rows.Close()
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				return err
			}
			out = append(out, [2]string{a, b})
		}
		return rows.Err()
	})
	return out, interpretError("duplicate pairs", err)
}

// SaveDuplicateGroups replaces the near-duplicate groups of model.
func (s *Storage) SaveDuplicateGroups(ctx context.Context, model string, groups [][]string) error {
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
// as photo summaries.
func (s *Storage) DuplicateGroups(ctx context.Context, limit int) ([][]PhotoSummary, error) {
	var out [][]PhotoSummary
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT d.group_id, p.id, coalesce(f.rel_path, ''), p.taken_at, p.taken_offset, p.width, p.height,
				p.thumb_width, p.thumb_height, coalesce(p.placeholder, ''), coalesce(p.damage, '')
			FROM (SELECT group_id FROM duplicates GROUP BY group_id ORDER BY count(*) DESC, group_id LIMIT $1) g
			JOIN duplicates d ON d.group_id = g.group_id JOIN photos p ON p.id = d.photo_id
			LEFT JOIN LATERAL (SELECT rel_path FROM files WHERE photo_id = p.id ORDER BY rel_path LIMIT 1) f ON true
			ORDER BY (SELECT count(*) FROM duplicates x WHERE x.group_id = d.group_id) DESC, d.group_id, p.id`, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		last := ""
		for rows.Next() {
			var (
				g  string
				ps PhotoSummary
			)
			if err := rows.Scan(&g, &ps.ID, &ps.Path, &ps.TakenAt, &ps.TakenOffset, &ps.Width, &ps.Height,
				&ps.ThumbWidth, &ps.ThumbHeight, &ps.Placeholder, &ps.Damage); err != nil {
				return err
			}
			if g != last {
				out = append(out, nil)
				last = g
			}
			out[len(out)-1] = append(out[len(out)-1], ps)
		}
		return rows.Err()
	})
	return out, interpretError("duplicate groups", err)
}
