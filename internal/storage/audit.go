package storage

import (
	"context"

	"shoebox/internal/database"
)

// Audit records an event of the audit log (sign-ins, failures, sign-outs,
// password and account changes).
func (s *Storage) Audit(ctx context.Context, event, username, address, detail string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO audit_log (event, username, address, detail) VALUES ($1, $2, $3, $4)`, event, username, address, detail)
		return err
	})
	return interpretError("audit", err)
}

// AuditEvents counts audit rows of event for username (tests, and a page later).
func (s *Storage) AuditEvents(ctx context.Context, event, username string) (int, error) {
	var n int
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE event = $1 AND username = $2`, event, username).Scan(&n)
	})
	return n, interpretError("audit events", err)
}
