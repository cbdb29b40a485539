package database_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
)

// dbName is the database a cluster URL names.
func dbName(t *testing.T, u string) string {
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

// Through a real PgBouncer in transaction mode (Debian 12's 1.18, which
// keeps no prepared statements in that mode), Shoebox learns that it talks
// to a pooler, migrates, and runs parameterised queries — pgvector's type
// included — from many clients multiplexed onto a few server connections,
// and PostgreSQL never sees more than the pool.
func TestThroughPgBouncerTransactionMode(t *testing.T) {
	ctx := context.Background()
	c := dbtest.Shared(t)
	name := dbName(t, dbtest.NewDatabase(t))
	pgb := dbtest.StartPgBouncer(t, c, dbtest.PgBouncerOptions{PoolSize: 3})

	db, err := database.Open(ctx, database.Options{URL: pgb.URL(name), MaxConns: 8, AcquireTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate through pgbouncer: %v\n%s", err, pgb.Log())
	}
	pooled, known, why := db.Pooler()
	if !known || !pooled {
		t.Fatalf("pooler not recognised: pooled %v known %v (%s)", pooled, known, why)
	}
	t.Logf("pooler: %s", why)

	// A table with a vector column, then many clients at once, each running
	// the same parameterised statements over and over: named prepared
	// statements would collide or be missing on another server connection.
	err = db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `CREATE TABLE pgb_probe (id int PRIMARY KEY, v vector(3), t text)`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var failures atomic.Int64
	var errMu sync.Mutex
	var firstErr error
	stop := make(chan struct{})
	peak := 0
	var peakMu sync.Mutex
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			n, _ := dbtest.CountServerConns(ctx, c, name)
			peakMu.Lock()
			peak = max(peak, n)
			peakMu.Unlock()
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				id := g*1000 + i
				err := db.Tx(ctx, func(q database.Querier) error {
					if _, err := q.Exec(ctx, `INSERT INTO pgb_probe (id, v, t) VALUES ($1, $2::text::vector, $3)`,
						id, fmt.Sprintf("[%d,%d,1]", g, i), fmt.Sprint("row ", id)); err != nil {
						return err
					}
					var d float64
					var text string
					if err := q.QueryRow(ctx, `SELECT v <=> $2::text::vector, t FROM pgb_probe WHERE id = $1`,
						id, "[1,1,1]").Scan(&d, &text); err != nil {
						return err
					}
					if text != fmt.Sprint("row ", id) {
						return fmt.Errorf("row %d read back %q", id, text)
					}
					return nil
				})
				if err == nil {
					err = db.Do(ctx, func(q database.Querier) error {
						var n int
						return q.QueryRow(ctx, `SELECT count(*) FROM pgb_probe WHERE id <= $1`, id).Scan(&n)
					})
				}
				if err != nil {
					failures.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d of 640 rounds failed through pgbouncer; first: %v", n, firstErr)
	}
	var rows int
	db.Do(ctx, func(q database.Querier) error { return q.QueryRow(ctx, `SELECT count(*) FROM pgb_probe`).Scan(&rows) })
	if rows != 640 {
		t.Fatalf("rows %d, want 640", rows)
	}
	peakMu.Lock()
	defer peakMu.Unlock()
	if peak > 3 {
		t.Fatalf("PostgreSQL saw %d connections for the database, pool is 3", peak)
	}
	t.Logf("peak server connections %d (pool 3), client pool 8", peak)
}

// PostgreSQL itself is not taken for a pooler: the fast path (named
// prepared statements, timeouts as startup parameters) stays.
func TestDirectIsNotAPooler(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, 2)
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	pooled, known, why := db.Pooler()
	if !known || pooled {
		t.Fatalf("direct cluster: pooled %v known %v (%s)", pooled, known, why)
	}
}

// Told there is no pooler while there is one, Shoebox fails with
// PgBouncer's own words rather than misbehaving later; an unknown mode is
// refused at Open.
func TestPoolerModeNoneThroughPgBouncerFailsClearly(t *testing.T) {
	ctx := context.Background()
	c := dbtest.Shared(t)
	name := dbName(t, dbtest.NewDatabase(t))
	pgb := dbtest.StartPgBouncer(t, c, dbtest.PgBouncerOptions{PoolSize: 2})
	db, err := database.Open(ctx, database.Options{URL: pgb.URL(name), MaxConns: 2, Pooler: database.PoolerNone})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "unsupported startup parameter") {
		t.Fatalf("want pgbouncer's refusal, got %v", err)
	}
	if _, err := database.Open(ctx, database.Options{URL: pgb.URL(name), Pooler: "sometimes"}); err == nil {
		t.Fatal("unknown pooler mode accepted")
	}
}
