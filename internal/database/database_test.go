package database_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestMigrateIsIdempotentAndCreatesSchema(t *testing.T) {
	db := dbtest.Open(t, 4)
	ctx := context.Background()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var tables, vec int
	err := db.Do(ctx, func(q database.Querier) error {
		if err := q.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
			WHERE table_name IN ('photos','files','libraries','job_clients','river_job','river_leader')`).Scan(&tables); err != nil {
			return err
		}
		return q.QueryRow(ctx, `SELECT count(*) FROM pg_extension WHERE extname = 'vector'`).Scan(&vec)
	})
	if err != nil || tables != 6 || vec != 1 {
		t.Fatalf("tables %d vector %d err %v", tables, vec, err)
	}
}

func TestConnectionSettings(t *testing.T) {
	db := dbtest.Open(t, 2)
	ctx := context.Background()
	var app, st, idle string
	err := db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT current_setting('application_name'), current_setting('statement_timeout'),
			current_setting('idle_in_transaction_session_timeout')`).Scan(&app, &st, &idle)
	})
	if err != nil {
		t.Fatal(err)
	}
	if app != "shoebox" || st == "0" || idle == "0" {
		t.Fatalf("application_name %q statement_timeout %q idle_in_tx %q", app, st, idle)
	}
}

// A full budget makes the next acquire give up at its deadline with ErrBusy
// (a 503 for the web), instead of waiting forever or opening more.
func TestAcquireDeadlineGivesErrBusy(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: dbtest.NewDatabase(t), MaxConns: 2, AcquireTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c1, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Do(ctx, func(database.Querier) error { return nil })
	if !errors.Is(err, database.ErrBusy) {
		t.Fatalf("third acquire: %v, want ErrBusy", err)
	}
	s := db.Stats()
	c1.Release()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("after release: %v", err)
	}
	c2.Release()
	if s.TotalConns != 2 || s.AcquireTimeouts != 1 {
		t.Fatalf("stats %+v: want 2 connections and 1 timeout", s)
	}
}

// The background share leaves connections for page requests.
func TestBackgroundShareLeavesRoom(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: dbtest.NewDatabase(t), MaxConns: 4, AcquireTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bg := db.Background()
	hold := make(chan struct{})
	started := make(chan struct{}, 10)
	var running, most atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bg.Do(ctx, func(q database.Querier) error {
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				started <- struct{}{}
				<-hold
				running.Add(-1)
				return nil
			})
		}()
	}
	for i := 0; i < 2; i++ { // share = 4/2
		<-started
	}
	// The share is full: the foreground still gets a connection at once.
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("foreground starved: %v", err)
	}
	// Let every background call run; at no moment were more than 2 inside.
	close(hold)
	wg.Wait()
	if n := most.Load(); n != 2 {
		t.Fatalf("background held up to %d connections at once, want its share of 2", n)
	}
}

// With the server down, acquires fail fast with ErrUnavailable; once it is
// back the same pool recovers by itself.
func TestUnavailableThenRecovers(t *testing.T) {
	c := dbtest.StartCluster(t, nil)
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: c.URL("postgres"), MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = db.Ping(ctx)
	if !errors.Is(err, database.ErrUnavailable) {
		t.Fatalf("ping with server down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Fatalf("failing took %s: must not hang past the acquire deadline", took)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for db.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("pool did not recover after the server came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCheckBudget(t *testing.T) {
	c := dbtest.StartCluster(t, map[string]string{"max_connections": "20"})
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: c.URL("postgres"), MaxConns: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b, err := db.CheckBudget(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.MaxConnections != 20 || b.Reserved < 3 || b.Fits() {
		t.Fatalf("budget 30 on max_connections 20 must not fit: %+v", b)
	}
	db2, _ := database.Open(ctx, database.Options{URL: c.URL("postgres"), MaxConns: 8})
	defer db2.Close()
	if b, err := db2.CheckBudget(ctx); err != nil || !b.Fits() {
		t.Fatalf("budget 8 on 20 must fit: %+v %v", b, err)
	}
}
