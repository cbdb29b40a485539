package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
	"shoebox/internal/jobs"
	"shoebox/internal/thumbs"
)

// runUntil runs runners until cond holds (or fails the test after limit).
var onTimeout func()

func runUntil(t *testing.T, limit time.Duration, cond func() bool, rs ...*jobs.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Add(1)
		go func() { defer wg.Done(); r.Run(ctx) }()
	}
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			if onTimeout != nil {
				onTimeout()
			}
			t.Fatalf("not done within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Two worker processes with a periodic rescan: the rescan is scheduled
// once for the deployment (by River's elected leader), not once per
// process, so no two rescan jobs are inserted within one interval.
func TestRescanScheduledOnceForTwoWorkers(t *testing.T) {
	e := setup(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	roots := func(context.Context) ([]string, error) { return []string{e.lib}, nil }
	const interval = time.Second
	var rs []*jobs.Runner
	for range 2 {
		rs = append(rs, jobs.New(e.db, thumbs.Store{Dir: t.TempDir()}, jobs.Options{Workers: 1, Poll: 20 * time.Millisecond,
			Logger: log, Rescan: true, RescanInterval: interval, Roots: roots}))
	}
	runUntil(t, time.Minute, func() bool {
		return e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'rescan' AND state = 'completed'`) >= 4
	}, rs...)
	var created []time.Time
	err := e.db.Do(context.Background(), func(q database.Querier) error {
		rows, err := q.Query(context.Background(), `SELECT created_at FROM river_job WHERE kind = 'rescan' ORDER BY created_at`)
		if err != nil {
			return err
		}
		created, err = pgx.CollectRows(rows, pgx.RowTo[time.Time])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(created); i++ {
		if gap := created[i].Sub(created[i-1]); gap < interval/2 {
			t.Fatalf("rescan jobs inserted %s apart (%v): scheduled by more than one process", gap, created)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND state = 'completed'`); n < 4 {
		t.Fatalf("%d scans ran, want one per rescan", n)
	}
}

// A job that fails is retried after a backoff and then succeeds: a scan
// of a library folder not there yet (a disk being mounted).
func TestRetryWithBackoffThenSuccess(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "later")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := jobs.New(e.db, e.store, jobs.Options{Workers: 1, Poll: 20 * time.Millisecond, Logger: log})
	if err := r.EnqueueScan(ctx, root); err != nil {
		t.Fatal(err)
	}
	onTimeout = func() { dumpJobs(t, e) }
	runUntil(t, 20*time.Second, func() bool {
		return e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND state IN ('retryable', 'available') AND attempt = 1`) == 1
	}, r)
	var backoff float64
	err := e.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT extract(epoch FROM scheduled_at - attempted_at) FROM river_job WHERE kind = 'scan'`).Scan(&backoff)
	})
	if err != nil || backoff < 0.5 {
		t.Fatalf("retry scheduled %.3fs after the failed attempt (%v), want a backoff of about 1s", backoff, err)
	}
	copyFile(t, fixture(t, "noexif/branches_600x400.jpg"), filepath.Join(root, "x.jpg"))
	runUntil(t, time.Minute, func() bool {
		return e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND state = 'completed'`) == 1 &&
			e.count(t, `SELECT count(*) FROM photos WHERE state = 'ready'`) == 1
	}, r)
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND attempt >= 2 AND cardinality(errors) = attempt - 1`); n != 1 {
		dumpJobs(t, e)
		t.Fatal("the scan did not succeed at a later attempt with the failed ones' errors kept")
	}
	if _, err := os.Stat(root); err != nil {
		t.Fatal(err)
	}
}

func dumpJobs(t *testing.T, e *env) {
	e.db.Do(context.Background(), func(q database.Querier) error {
		rows, _ := q.Query(context.Background(), `SELECT kind, state, attempt, scheduled_at, attempted_at, errors::text FROM river_job`)
		for rows.Next() {
			v, _ := rows.Values()
			t.Log(v...)
		}
		return nil
	})
}
