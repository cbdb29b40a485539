package storage

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// APIKey is a key of an account, without its text (only its hash is
// stored, and only the key table of the auth poll reads it).
type APIKey struct {
	ID        int64
	UserID    int64
	UserName  string
	Admin     bool
	Scope     string
	CreatedAt time.Time
}

// AddAPIKey records a key of userID by its hash.
func (s *Storage) AddAPIKey(ctx context.Context, userID int64, keyHash []byte, scope string) (APIKey, error) {
	k := APIKey{UserID: userID, Scope: scope}
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `INSERT INTO api_keys (user_id, key_hash, scope) VALUES ($1, $2, $3)
			RETURNING id, created_at, (SELECT name FROM users WHERE id = $1), (SELECT admin FROM users WHERE id = $1)`,
			userID, keyHash, scope).Scan(&k.ID, &k.CreatedAt, &k.UserName, &k.Admin)
	})
	return k, interpretError("add api key", err)
}

// APIKeys lists the keys of userID (0: every account's), oldest first.
func (s *Storage) APIKeys(ctx context.Context, userID int64) ([]APIKey, error) {
	var out []APIKey
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT k.id, k.user_id, u.name, u.admin, k.scope, k.created_at
			FROM api_keys k JOIN users u ON u.id = k.user_id WHERE $1 = 0 OR k.user_id = $1 ORDER BY k.id`, userID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[APIKey])
		return err
	})
	return out, interpretError("api keys", err)
}

// RevokeAPIKey deletes key id of userID (0: of any account) and returns
// it (ErrNotFound: no such key of that account).
func (s *Storage) RevokeAPIKey(ctx context.Context, userID, id int64) (APIKey, error) {
	var k APIKey
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `DELETE FROM api_keys k USING users u
			WHERE k.id = $1 AND ($2 = 0 OR k.user_id = $2) AND u.id = k.user_id
			RETURNING k.id, k.user_id, u.name, u.admin, k.scope, k.created_at`, id, userID).
			Scan(&k.ID, &k.UserID, &k.UserName, &k.Admin, &k.Scope, &k.CreatedAt)
	})
	return k, interpretError("revoke api key", err)
}

// APIKeyTable is what each process polls every second: every live key by
// its hash, with its owner's current role. It is the only reader of the
// hashes; requests with a key consult the copy in memory, never the table.
func (s *Storage) APIKeyTable(ctx context.Context) (map[string]APIKey, error) {
	out := map[string]APIKey{}
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT k.key_hash, k.id, k.user_id, u.name, u.admin, k.scope, k.created_at
			FROM api_keys k JOIN users u ON u.id = k.user_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				h []byte
				k APIKey
			)
			if err := rows.Scan(&h, &k.ID, &k.UserID, &k.UserName, &k.Admin, &k.Scope, &k.CreatedAt); err != nil {
				return err
			}
			out[string(h)] = k
		}
		return rows.Err()
	})
	return out, interpretError("api key table", err)
}
