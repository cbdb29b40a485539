package system

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRolesServeNoIndexAndWorker runs the two roles on one database:
// `serve --no-index` queues the scan of its library but runs no job, then
// a `shoebox worker` with a budget of 2 connections indexes everything,
// never holding more than its 2 connections (pg_stat_activity, by the
// application name its URL gives), and every photo is indexed once, by
// the worker alone.
func TestRolesServeNoIndexAndWorker(t *testing.T) {
	lib, files := makeLibrary(t, 48, 0)
	_, url := startCluster(t, nil)
	conn := pgConnect(t, url)
	ctx := context.Background()

	web := startServe(t, serveOpts{dbURL: url, library: lib, budget: 4, args: []string{"--no-index"}})
	deadline := time.Now().Add(30 * time.Second)
	for queryInt(t, conn, `SELECT count(*) FROM river_job WHERE kind = 'scan'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("serve --no-index did not queue the scan of its library")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Give a wrongly indexing web process time to show itself.
	time.Sleep(3 * time.Second)
	if n := queryInt(t, conn, `SELECT count(*) FROM river_job WHERE state <> 'available' OR attempt > 0`); n != 0 {
		t.Fatalf("serve --no-index ran %d jobs", n)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM photos`) + queryInt(t, conn, `SELECT count(*) FROM job_clients`); n != 0 {
		t.Fatalf("serve --no-index indexed or registered as a worker (%d rows)", n)
	}

	wurl := url + "&application_name=shoebox-worker"
	w := startProc(t, "shoebox worker", shoeboxEnv("DATABASE_URL="+wurl, "SHOEBOX_DB_MAX_CONNS=2", "SHOEBOX_WORKERS=4"),
		shoeboxBin, "worker", "--data", t.TempDir(), "--rescan", "0")
	maxConns, samples := 0, 0
	deadline = time.Now().Add(3 * time.Minute)
	for {
		var conns, ready, live int
		err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shoebox-worker')::int,
			(SELECT count(*) FROM photos WHERE state = 'ready')::int,
			(SELECT count(*) FROM river_job WHERE state IN ('available', 'pending', 'running', 'retryable', 'scheduled'))::int`).
			Scan(&conns, &ready, &live)
		if err != nil {
			t.Fatal(err)
		}
		samples++
		maxConns = max(maxConns, conns)
		if ready > 0 && live == 0 {
			break
		}
		if !w.running() {
			t.Fatalf("worker exited: %v", w.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not indexed within 3 minutes (%d ready, %d live jobs)", ready, live)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("worker with SHOEBOX_DB_MAX_CONNS=2: at most %d connections in %d samples while indexing", maxConns, samples)
	if maxConns > 2 || maxConns == 0 {
		t.Errorf("the worker held %d connections, budget 2", maxConns)
	}

	distinct := map[string]bool{}
	for _, f := range files {
		distinct[f.sum] = true
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM photos WHERE state = 'ready'`); n != len(distinct) {
		t.Errorf("%d ready photos, want %d", n, len(distinct))
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM files`); n != len(files) {
		t.Errorf("%d files recorded, want %d", n, len(files))
	}
	m := regexp.MustCompile(`Shoebox worker (\S+) is running jobs`).FindStringSubmatch(w.stdout.String())
	if m == nil {
		t.Fatalf("worker printed no id:\n%s", w.stdout.String())
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM river_job WHERE NOT attempted_by <@ ARRAY[$1]::text[]`, m[1]); n != 0 {
		t.Errorf("%d jobs were run by another process than the worker", n)
	}
	if st, _, body, err := web.get("/healthz"); err != nil || st != 200 {
		t.Errorf("web process after indexing: %d %v %s", st, err, strings.TrimSpace(string(body)))
	}
}
