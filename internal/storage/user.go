package storage

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"shoebox/internal/database"
)

// User is an account.
type User struct {
	ID        int64
	Name      string
	Password  string // Argon2id PHC string
	Admin     bool
	CreatedAt time.Time
}

// ErrExists is returned when creating what already exists (an account of
// that name; the first admin once any account exists).
var ErrExists = errors.New("already exists")

// AddUser creates an account. The first admin inherits what the local
// user of the no-account mode made (adoptLocal).
func (s *Storage) AddUser(ctx context.Context, name, hash string, admin bool) (int64, error) {
	var id int64
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := q.QueryRow(ctx, `INSERT INTO users (name, password, admin) VALUES ($1, $2, $3) RETURNING id`, name, hash, admin).Scan(&id); err != nil {
			return err
		}
		var first bool
		if err := q.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM users WHERE admin AND id <> $1)`, id).Scan(&first); err != nil || !admin || !first {
			return err
		}
		return adoptLocal(ctx, q, id)
	})
	if isUnique(err) {
		return 0, ErrExists
	}
	return id, interpretError("add user", err)
}

// AddFirstAdmin creates an admin only while no account exists. The table
// lock makes two racing first-run requests (or a CLI beside one) create
// one account between them: the second finds the first and gets ErrExists.
func (s *Storage) AddFirstAdmin(ctx context.Context, name, hash string) (int64, error) {
	var id int64
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var any bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&any); err != nil {
			return err
		}
		if any {
			return ErrExists
		}
		if err := q.QueryRow(ctx, `INSERT INTO users (name, password, admin) VALUES ($1, $2, true) RETURNING id`, name, hash).Scan(&id); err != nil {
			return err
		}
		return adoptLocal(ctx, q, id)
	})
	if errors.Is(err, ErrExists) {
		return 0, ErrExists
	}
	return id, interpretError("add first admin", err)
}

// UserByName returns the account called name.
func (s *Storage) UserByName(ctx context.Context, name string) (User, error) {
	var u User
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT id, name, password, admin, created_at FROM users WHERE name = $1`, name).
			Scan(&u.ID, &u.Name, &u.Password, &u.Admin, &u.CreatedAt)
	})
	return u, interpretError("user", err)
}

// Users lists every account by name.
func (s *Storage) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT id, name, '', admin, created_at FROM users ORDER BY name`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowToStructByPos[User])
		return err
	})
	return out, interpretError("users", err)
}

// SetPassword replaces an account's password and ends its sessions except
// keep (0: all of them), in one transaction.
func (s *Storage) SetPassword(ctx context.Context, userID int64, hash string, keep int64) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		tag, err := q.Exec(ctx, `UPDATE users SET password = $2 WHERE id = $1`, userID, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return pgx.ErrNoRows
		}
		return revokeWhere(ctx, q, `user_id = $1 AND id <> $2`, userID, keep)
	})
	return interpretError("set password", err)
}

// RemoveUser deletes an account and ends its sessions.
func (s *Storage) RemoveUser(ctx context.Context, name string) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if err := revokeWhere(ctx, q, `user_id = (SELECT id FROM users WHERE name = $1)`, name); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `DELETE FROM photo_states WHERE user_id = (SELECT id FROM users WHERE name = $1)`, name); err != nil {
			return err
		}
		tag, err := q.Exec(ctx, `DELETE FROM users WHERE name = $1`, name)
		if err == nil && tag.RowsAffected() == 0 {
			err = pgx.ErrNoRows
		}
		return err
	})
	return interpretError("remove user", err)
}

// adoptLocal gives the first admin what the one local user made while
// no account existed (user id 0): favourites, archive, trash, albums.
func adoptLocal(ctx context.Context, q database.Querier, admin int64) error {
	for _, sql := range []string{
		`UPDATE photo_states SET user_id = $1 WHERE user_id = 0`,
		`UPDATE shares SET owner_id = $1 WHERE owner_id = 0`,
	} {
		if _, err := q.Exec(ctx, sql, admin); err != nil {
			return err
		}
	}
	return adoptLocalAlbums(ctx, q, admin)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
