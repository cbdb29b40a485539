// Package storage holds all of Shoebox's SQL: one Storage type over the
// database, one file per table. Methods take ctx first and run on a Runner:
// the foreground pool (page requests, with an acquire deadline) or the
// background share (indexing).
package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// ErrNotFound is returned when a row asked for does not exist.
var ErrNotFound = errors.New("not found")

// Runner runs SQL on one connection or in one transaction; *database.DB and
// *database.Background are both Runners.
type Runner interface {
	Do(ctx context.Context, fn func(database.Querier) error) error
	Tx(ctx context.Context, fn func(database.Querier) error) error
}

// Storage is the SQL of Shoebox.
type Storage struct{ db Runner }

// New returns a Storage that runs on db.
func New(db Runner) *Storage { return &Storage{db: db} }

// interpretError maps pgx's no-rows to ErrNotFound and wraps with op.
func interpretError(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", op, err)
}
