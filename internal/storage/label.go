package storage

import (
	"context"

	"github.com/jackc/pgx/v5"

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
		var l, txt string
		_, err = pgx.ForEachRow(rows, []any{&l, &txt}, func() error {
			v, err := parseVector(txt)
			out[l] = v
			return err
		})
		return err
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
