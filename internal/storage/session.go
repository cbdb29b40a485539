package storage

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// Session is a signed-in browser, with its account.
type Session struct {
	ID        int64
	UserID    int64
	UserName  string
	Admin     bool
	CreatedAt time.Time
	LastSeen  time.Time
	Address   string
	UserAgent string
}

// AddSession records a new session by its token's hash.
func (s *Storage) AddSession(ctx context.Context, userID int64, tokenHash []byte, address, userAgent string) (Session, error) {
	se := Session{UserID: userID, Address: address, UserAgent: userAgent}
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `INSERT INTO sessions (user_id, token_hash, address, user_agent) VALUES ($1, $2, $3, $4)
			RETURNING id, created_at, last_seen, (SELECT name FROM users WHERE id = $1), (SELECT admin FROM users WHERE id = $1)`,
			userID, tokenHash, address, userAgent).Scan(&se.ID, &se.CreatedAt, &se.LastSeen, &se.UserName, &se.Admin)
	})
	return se, interpretError("add session", err)
}

// TouchSession returns the live session of tokenHash and marks it seen
// now: one statement. A session idle longer than idle or older than
// absolute is no longer live (ErrNotFound).
func (s *Storage) TouchSession(ctx context.Context, tokenHash []byte, idle, absolute time.Duration) (Session, error) {
	var se Session
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `UPDATE sessions s SET last_seen = now() FROM users u
			WHERE s.token_hash = $1 AND u.id = s.user_id
			  AND s.last_seen > now() - $2::interval AND s.created_at > now() - $3::interval
			RETURNING s.id, s.user_id, u.name, u.admin, s.created_at, s.last_seen, s.address, s.user_agent`,
			tokenHash, idle, absolute).Scan(&se.ID, &se.UserID, &se.UserName, &se.Admin, &se.CreatedAt, &se.LastSeen, &se.Address, &se.UserAgent)
	})
	return se, interpretError("session", err)
}

// Sessions lists an account's sessions, most recently seen first.
func (s *Storage) Sessions(ctx context.Context, userID int64) ([]Session, error) {
	var out []Session
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT s.id, s.user_id, u.name, u.admin, s.created_at, s.last_seen, s.address, s.user_agent
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.user_id = $1 ORDER BY s.last_seen DESC`, userID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Session])
		return err
	})
	return out, interpretError("sessions", err)
}

// RevokeSession ends session id of userID (ErrNotFound: no such session of
// that account).
func (s *Storage) RevokeSession(ctx context.Context, userID, id int64) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		var n int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE id = $1 AND user_id = $2`, id, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return pgx.ErrNoRows
		}
		return revokeWhere(ctx, q, `id = $1`, id)
	})
	return interpretError("revoke session", err)
}

// revokeWhere ends the sessions matching cond: their rows go, and their
// ids are recorded for every process's revocation poll. Revocations older
// than a day (far beyond any media grant) are pruned on the way.
func revokeWhere(ctx context.Context, q database.Querier, cond string, args ...any) error {
	if _, err := q.Exec(ctx, `WITH gone AS (DELETE FROM sessions WHERE `+cond+` RETURNING id)
		INSERT INTO session_revocations (session_id) SELECT id FROM gone ON CONFLICT DO NOTHING`, args...); err != nil {
		return err
	}
	_, err := q.Exec(ctx, `DELETE FROM session_revocations WHERE revoked_at < now() - interval '1 day'`)
	return err
}

// AuthState is what each process polls every second: whether any account
// exists, and the sessions ended within window (longer than a media
// grant lives), whose grants must be refused.
func (s *Storage) AuthState(ctx context.Context, window time.Duration) (accounts bool, revoked []int64, err error) {
	err = s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users),
			ARRAY(SELECT session_id FROM session_revocations WHERE revoked_at > now() - $1::interval)`, window).Scan(&accounts, &revoked)
	})
	return accounts, revoked, interpretError("auth state", err)
}

// HasUsers says whether any account exists.
func (s *Storage) HasUsers(ctx context.Context) (bool, error) {
	var ok bool
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&ok)
	})
	return ok, interpretError("has users", err)
}
