package storage

import (
	"context"

	"shoebox/internal/database"
)

// EnsureSetting stores value under name unless a value is there already,
// and returns the stored one: every process sharing the database ends up
// with the first value written.
func (s *Storage) EnsureSetting(ctx context.Context, name string, value []byte) ([]byte, error) {
	var v []byte
	err := s.db.Do(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, value); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	})
	return v, interpretError("setting "+name, err)
}
