// Package database owns Shoebox's only door to PostgreSQL: one pool per
// process whose size is the connection budget, a deadline on every acquire,
// migrations, and (without DATABASE_URL) the embedded cluster. Nothing else
// in Shoebox opens a connection.
package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrBusy means no connection could be had within the acquire deadline:
	// the budget is in use. Callers answer 503 with Retry-After.
	ErrBusy = errors.New("database busy: connection budget exhausted")
	// ErrUnavailable means the database could not be reached.
	ErrUnavailable = errors.New("database unavailable")
)

// Options configure Open.
type Options struct {
	URL string
	// MaxConns is the budget: the pool never holds more. Default 10.
	MaxConns int
	// AcquireTimeout bounds every wait for a connection. Default 5s.
	AcquireTimeout time.Duration
	// StatementTimeout is set on every connection. Default 30s.
	StatementTimeout time.Duration
	// BackgroundShare is how many connections background work (indexing) may
	// hold at once, so page requests always find one. Default MaxConns/2.
	BackgroundShare int
	// Pooler says what DATABASE_URL leads to: PoolerAuto (default: learned
	// at the first connection), PoolerNone or PoolerTransaction (see
	// pooler.go for what changes behind one).
	Pooler string
	// DirectURL (SHOEBOX_DIRECT_DATABASE_URL) reaches PostgreSQL itself
	// when URL is a pooler, for the one connection that needs a session
	// (the job queue's LISTEN). It is taken out of the budget: the pool
	// gets MaxConns-1, the direct pool 1, so the process never opens more
	// than MaxConns. Ignored (with a warning) under a budget of 3, which
	// could not spare it. Empty: no direct pool.
	DirectURL string
	Logger    *slog.Logger
}

// DB is the process's pool with the budget's rules around it.
type DB struct {
	Pool           *pgxpool.Pool
	direct         *pgxpool.Pool // nil without Options.DirectURL; one connection
	budget         int           // Options.MaxConns: Pool and direct together
	acquireTimeout time.Duration
	maxWaiters     int64
	waiters        atomic.Int64
	timeouts       atomic.Int64
	unavailable    atomic.Int64
	background     chan struct{}
	held           atomic.Int32 // Pool's connections held as sessions (HoldSession)
	pooler         *pooler
	log            *slog.Logger
}

// Querier is what storage code runs SQL on: a pooled connection or a
// transaction. Begin on a transaction opens a savepoint.
type Querier interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Open creates the pool. It does not connect: the first acquire does, so a
// server started while the database is down comes up and recovers later.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.MaxConns == 0 {
		o.MaxConns = 10
	}
	if o.AcquireTimeout == 0 {
		o.AcquireTimeout = 5 * time.Second
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DirectURL != "" && o.MaxConns < MinSessionBudget {
		o.Logger.Warn("SHOEBOX_DIRECT_DATABASE_URL left unused: a budget under 3 cannot spare a connection for it; the job queue polls",
			"budget", o.MaxConns)
		o.DirectURL = ""
	}
	poolSize := o.MaxConns
	if o.DirectURL != "" {
		poolSize--
	}
	if o.BackgroundShare <= 0 {
		o.BackgroundShare = max(1, poolSize/2)
	}
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("database: parse DATABASE_URL: %w", err)
	}
	cfg.MaxConns = int32(poolSize)
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.MaxConnLifetime = time.Hour
	cfg.HealthCheckPeriod = 30 * time.Second
	cfg.ConnConfig.ConnectTimeout = min(o.AcquireTimeout, 5*time.Second)
	rp := cfg.ConnConfig.RuntimeParams
	if rp["application_name"] == "" { // a URL may name the process's role (shoebox-worker)
		rp["application_name"] = "shoebox"
	}
	rp["statement_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	rp["idle_in_transaction_session_timeout"] = "60000"
	rp["lock_timeout"] = strconv.FormatInt(o.StatementTimeout.Milliseconds(), 10)
	pl, err := newPooler(o.Pooler)
	if err != nil {
		return nil, err
	}
	cfg.BeforeConnect = pl.beforeConnect
	var direct *pgxpool.Pool
	if o.DirectURL != "" {
		if direct, err = openDirect(ctx, o, rp); err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		if direct != nil {
			direct.Close()
		}
		return nil, fmt.Errorf("database: pool: %w", err)
	}
	return &DB{
		Pool:           pool,
		direct:         direct,
		budget:         o.MaxConns,
		acquireTimeout: o.AcquireTimeout,
		maxWaiters:     int64(o.MaxConns) * 64,
		background:     make(chan struct{}, o.BackgroundShare),
		pooler:         pl,
		log:            o.Logger,
	}, nil
}

// openDirect is the pool of one connection on o.DirectURL, with the main
// pool's startup parameters (PostgreSQL itself takes them all). It does not
// connect either.
func openDirect(ctx context.Context, o Options, params map[string]string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(o.DirectURL)
	if err != nil {
		return nil, fmt.Errorf("database: parse SHOEBOX_DIRECT_DATABASE_URL: %w", err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 0
	cfg.ConnConfig.ConnectTimeout = min(o.AcquireTimeout, 5*time.Second)
	rp := cfg.ConnConfig.RuntimeParams
	for k, v := range params {
		if k != "application_name" || rp[k] == "" {
			rp[k] = v
		}
	}
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: direct pool: %w", err)
	}
	return p, nil
}

// MinSessionBudget is the smallest budget that spares a connection for a
// session (LISTEN): two stay for queries, one for pages and one for
// background work.
const MinSessionBudget = 3

// Session returns the pool that work needing a session of its own (the job
// queue's LISTEN) takes its one connection from, holding it within that
// pool's size, and says which it is. It is the direct pool when
// SHOEBOX_DIRECT_DATABASE_URL is set; else the pool itself when
// DATABASE_URL is PostgreSQL itself (learned at the first connection) and
// the budget can spare one; else nil: DATABASE_URL is a pooler in
// transaction mode, where a session is not ours to keep, or not known yet.
func (db *DB) Session() (*pgxpool.Pool, string) {
	if db.direct != nil {
		return db.direct, "SHOEBOX_DIRECT_DATABASE_URL (its own connection, one of the budget)"
	}
	pooled, known, _ := db.Pooler()
	switch {
	case !known:
		return nil, "DATABASE_URL not reached yet"
	case pooled:
		return nil, "DATABASE_URL is a pooler and SHOEBOX_DIRECT_DATABASE_URL is unset"
	case db.budget < MinSessionBudget:
		return nil, fmt.Sprintf("a budget of %d cannot spare a connection", db.budget)
	}
	return db.Pool, "DATABASE_URL, PostgreSQL itself (one of the pool's connections)"
}

// HoldSession counts a connection of pool taken (+1) or given back (-1)
// as a session of its own (the queue's LISTEN): one of the process's pool
// is held for as long as the process runs, so Stats counts it apart from
// the connections that requests and jobs hold.
func (db *DB) HoldSession(pool *pgxpool.Pool, n int32) {
	if pool == db.Pool {
		db.held.Add(n)
	}
}

// Close closes the pools, waiting for connections in use to come back.
func (db *DB) Close() {
	db.Pool.Close()
	if db.direct != nil {
		db.direct.Close()
	}
}

// Acquire gets a connection within the acquire deadline. Errors are
// ErrBusy (deadline passed, or too many already waiting), ErrUnavailable
// (cannot connect), or the caller's own context error.
func (db *DB) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if db.waiters.Add(1) > db.maxWaiters {
		db.waiters.Add(-1)
		db.timeouts.Add(1)
		return nil, fmt.Errorf("database: acquire: %w (%d requests already waiting)", ErrBusy, db.maxWaiters)
	}
	defer db.waiters.Add(-1)
	actx, cancel := context.WithTimeout(ctx, db.acquireTimeout)
	defer cancel()
	conn, err := db.Pool.Acquire(actx)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if actx.Err() != nil && !isConnectError(err) {
		db.timeouts.Add(1)
		return nil, fmt.Errorf("database: acquire within %s: %w", db.acquireTimeout, ErrBusy)
	}
	db.unavailable.Add(1)
	return nil, fmt.Errorf("database: connect: %w: %w", ErrUnavailable, err)
}

func isConnectError(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	// context.DeadlineExceeded is a net.Error too: a deadline is not an outage.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// Do runs fn on one pooled connection and returns it to the pool at once.
func (db *DB) Do(ctx context.Context, fn func(Querier) error) error {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return classify(fn(conn))
}

// Tx runs fn in a transaction on one connection: committed when fn returns
// nil, rolled back otherwise.
func (db *DB) Tx(ctx context.Context, fn func(Querier) error) error {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return classify(pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return fn(tx) }))
}

// Background returns a view of db for indexing work: it never holds more
// than its share of the budget, and waits for its turn without a deadline
// (it is not a person waiting on a page).
func (db *DB) Background() *Background { return &Background{db: db} }

// Background is the indexing side of the budget.
type Background struct{ db *DB }

func (b *Background) take(ctx context.Context) (func(), error) {
	select {
	case b.db.background <- struct{}{}:
		return func() { <-b.db.background }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Do is DB.Do within the background share.
func (b *Background) Do(ctx context.Context, fn func(Querier) error) error {
	done, err := b.take(ctx)
	if err != nil {
		return err
	}
	defer done()
	return b.db.Do(ctx, fn)
}

// Tx is DB.Tx within the background share.
func (b *Background) Tx(ctx context.Context, fn func(Querier) error) error {
	done, err := b.take(ctx)
	if err != nil {
		return err
	}
	defer done()
	return b.db.Tx(ctx, fn)
}

// classify turns a lost server into ErrUnavailable, so callers need not
// know pgx's error types.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300": // shutdown, crash, cannot connect now, too many clients
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	if isConnectError(err) || pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// Ping checks that the database answers, within the acquire deadline.
func (db *DB) Ping(ctx context.Context) error {
	return db.Do(ctx, func(q Querier) error {
		_, err := q.Exec(ctx, "SELECT 1")
		return err
	})
}

// Stats are the pool's figures, for /api/stats and /metrics.
type Stats struct {
	MaxConns int32 `json:"max_conns"`
	// AcquiredConns are those requests and jobs hold; SessionConns those
	// held as sessions of their own (the queue's LISTEN on the pool).
	AcquiredConns        int32   `json:"acquired_conns"`
	SessionConns         int32   `json:"session_conns"`
	IdleConns            int32   `json:"idle_conns"`
	TotalConns           int32   `json:"total_conns"`
	EmptyAcquireCount    int64   `json:"empty_acquire_count"`
	AcquireWaitMS        float64 `json:"acquire_wait_ms"`
	AcquireCount         int64   `json:"acquire_count"`
	CanceledAcquireCount int64   `json:"canceled_acquire_count"`
	AcquireTimeouts      int64   `json:"acquire_timeouts"`
	Unavailable          int64   `json:"unavailable_count"`
	Waiting              int64   `json:"waiting"`
	// BackgroundShare is how many connections indexing may hold at once;
	// BackgroundInUse how many of those it holds now.
	BackgroundShare int `json:"background_share"`
	BackgroundInUse int `json:"background_in_use"`
}

// Stats reads the pool's figures without touching the database.
func (db *DB) Stats() Stats {
	s := db.Pool.Stat()
	held := min(db.held.Load(), s.AcquiredConns())
	return Stats{
		MaxConns:             s.MaxConns(),
		AcquiredConns:        s.AcquiredConns() - held,
		SessionConns:         held,
		IdleConns:            s.IdleConns(),
		TotalConns:           s.TotalConns(),
		EmptyAcquireCount:    s.EmptyAcquireCount(),
		AcquireWaitMS:        float64(s.EmptyAcquireWaitTime().Microseconds()) / 1000,
		AcquireCount:         s.AcquireCount(),
		CanceledAcquireCount: s.CanceledAcquireCount(),
		AcquireTimeouts:      db.timeouts.Load(),
		Unavailable:          db.unavailable.Load(),
		Waiting:              db.waiters.Load(),
		BackgroundShare:      cap(db.background),
		BackgroundInUse:      len(db.background),
	}
}
