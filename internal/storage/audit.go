package storage

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

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

// AuditRow is one event of the audit log.
type AuditRow struct {
	ID       int64
	At       time.Time
	Event    string
	Username string
	Address  string
	Detail   string
}

// AuditLog returns up to limit events, newest first, with ids below
// before (0: from the newest): a keyset page, as cheap on the thousandth
// page as on the first.
func (s *Storage) AuditLog(ctx context.Context, before int64, limit int) ([]AuditRow, error) {
	var out []AuditRow
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT id, at, event, username, address, detail FROM audit_log
			WHERE $1 = 0 OR id < $1 ORDER BY id DESC LIMIT $2`, before, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[AuditRow])
		return err
	})
	return out, interpretError("audit log", err)
}
