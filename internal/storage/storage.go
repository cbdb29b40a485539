// Package storage holds all of Shoebox's SQL: one Storage type over the
// database, one file per table (storage.go, stats.go and server.go hold what
// belongs to no one table). Methods take ctx first and run on an Executor:
// the foreground pool (page requests, with an acquire deadline), the
// background share (indexing), or a transaction (Storage.Tx), so callers
// compose several methods into one atomic step.
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

// Executor runs SQL on one connection or in one transaction; *database.DB
// and *database.Background are both Executors.
type Executor interface {
	Do(ctx context.Context, fn func(database.Querier) error) error
	Tx(ctx context.Context, fn func(database.Querier) error) error
}

// Storage is the SQL of Shoebox.
type Storage struct {
	db  Executor
	ann *annSize // the vector table's size, for HNSW's ef_search (embedding.go)
}

// New returns a Storage that runs on db.
func New(db Executor) *Storage { return &Storage{db: db, ann: &annSize{}} }

// InTx returns a Storage whose every statement runs in tx; its own
// transactions (Tx, and methods that need one) become savepoints. The
// caller commits or rolls back tx: tests use it to undo all they did.
func InTx(tx pgx.Tx) *Storage { return &Storage{db: txExecutor{tx}, ann: &annSize{}} }

// Tx runs fn in one transaction: every method of tx runs in it, and it is
// committed when fn returns nil, rolled back otherwise. Inside a Tx, a
// nested Tx is a savepoint. The model is River's InsertTx: a row and the
// job that belongs to it are saved together or not at all.
func (s *Storage) Tx(ctx context.Context, fn func(tx *Storage) error) error {
	return s.db.Tx(ctx, func(q database.Querier) error {
		return fn(&Storage{db: txExecutor{q}, ann: s.ann})
	})
}

// txExecutor runs everything in one open transaction.
type txExecutor struct{ q database.Querier }

func (t txExecutor) Do(ctx context.Context, fn func(database.Querier) error) error { return fn(t.q) }

func (t txExecutor) Tx(ctx context.Context, fn func(database.Querier) error) error {
	return pgx.BeginFunc(ctx, t.q, func(sp pgx.Tx) error { return fn(sp) })
}

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
