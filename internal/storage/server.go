package storage

import (
	"context"

	"shoebox/internal/database"
)

// PgvectorVersion is the version of the vector extension installed in the
// database, for doctor.
func (s *Storage) PgvectorVersion(ctx context.Context) (string, error) {
	var v string
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&v)
	})
	return v, interpretError("pgvector version", err)
}
