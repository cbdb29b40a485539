package system

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
	"shoebox/internal/thumbs"
)

// TestKill9DuringIndexing SIGKILLs `shoebox index` once some photos are
// done but before the queue is empty, then runs `shoebox index` again to
// completion: every file is recorded exactly once, every distinct content
// is exactly one photo, all ready, no job is left pending or running, and
// every ready photo has its thumbnail, preview and source note.
//
// "embedded" is the default users get (no DATABASE_URL): the data-folder
// lock lets the second run take the killed run's jobs over at once, and
// the embedded PostgreSQL must be stopped when index exits. "external"
// uses DATABASE_URL: the killed worker's running jobs are rescued once its
// heartbeat is stale (30 s; River alone would wait an hour), so that
// subtest takes longer.
func TestKill9DuringIndexing(t *testing.T) {
	t.Run("embedded", func(t *testing.T) { testKill9(t, false) })
	t.Run("external", func(t *testing.T) { testKill9(t, true) })
}

func testKill9(t *testing.T, external bool) {
	lib, files := makeLibrary(t, 64, 0)
	var (
		dataDir string
		cluster *database.Cluster
		url     string
		env     []string
	)
	if external {
		cluster, url = startCluster(t, nil)
		dataDir = t.TempDir()
		env = shoeboxEnv("DATABASE_URL=" + url)
	} else {
		dataDir, cluster = embeddedDataDir(t)
		url = cluster.URL(database.EmbeddedDB)
		env = shoeboxEnv() // no DATABASE_URL: embedded cluster under --data
	}
	args := []string{shoeboxBin, "index", "--library", lib, "--data", dataDir}

	// First run, one worker (so there is time to catch it mid-way).
	first := startProc(t, "shoebox index (to be killed)", env, append(args, "--workers", "1")...)
	var conn *pgx.Conn
	deadline := time.Now().Add(3 * time.Minute)
	var done, live, running int
	for {
		if !first.running() {
			t.Fatalf("shoebox index finished before it could be killed mid-way (done %d, live jobs %d): %v", done, live, first.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress to kill in within 3 minutes (done %d, live jobs %d)", done, live)
		}
		if conn == nil {
			if !external {
				// The cluster's password exists once shoebox has made it.
				url = cluster.URL(database.EmbeddedDB)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			conn, _ = pgx.Connect(ctx, url)
			cancel()
			if conn == nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM photos WHERE state <> 'pending'),
			(SELECT count(*) FROM river_job WHERE state IN ('available', 'pending', 'running', 'retryable', 'scheduled')),
			(SELECT count(*) FROM river_job WHERE state = 'running')`).Scan(&done, &live, &running)
		cancel()
		if err == nil && done >= 5 && live > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(-first.pid(), syscall.SIGKILL)
	first.wait(t, 30*time.Second)
	ws, _ := first.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("first index was not killed by SIGKILL: %v", first.cmd.ProcessState)
	}
	ctx := context.Background()
	var doneAtKill, pendingPhotos, liveJobs, runningJobs int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM photos WHERE state <> 'pending'),
		(SELECT count(*) FROM photos WHERE state = 'pending'),
		(SELECT count(*) FROM river_job WHERE state IN ('available', 'pending', 'running', 'retryable', 'scheduled')),
		(SELECT count(*) FROM river_job WHERE state = 'running')`).Scan(&doneAtKill, &pendingPhotos, &liveJobs, &runningJobs); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	conn.Close(ctx)
	t.Logf("killed with SIGKILL: %d photos done, %d pending, %d live jobs of which %d running (orphaned)",
		doneAtKill, pendingPhotos, liveJobs, runningJobs)
	if liveJobs == 0 || pendingPhotos == 0 {
		t.Fatalf("the kill came too late to test anything (live jobs %d, pending photos %d)", liveJobs, pendingPhotos)
	}
	if !cluster.Running(ctx) {
		t.Errorf("PostgreSQL died with shoebox")
	}

	// Second run to completion: it takes over the killed run's jobs.
	t0 := time.Now()
	second := startProc(t, "shoebox index (resume)", env, args...)
	if err := second.wait(t, 4*time.Minute); err != nil {
		t.Fatalf("second index failed: %v\n%s", err, tail(second.stderr.String(), 3000))
	}
	out := second.stdout.String()
	m := regexp.MustCompile(`(?m)^indexed (\d+), unchanged (\d+), failed (\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("second index printed no summary line:\n%s", tail(out, 2000))
	}
	indexed, _ := strconv.Atoi(m[1])
	unchanged, _ := strconv.Atoi(m[2])
	failed, _ := strconv.Atoi(m[3])
	t.Logf("second run (%s): %q", time.Since(t0).Round(time.Millisecond), m[0])
	if failed != 0 {
		t.Errorf("second run reports %d failures:\n%s", failed, out)
	}
	if unchanged != len(files) {
		t.Errorf("second run: unchanged %d, want %d (the killed run had scanned every file)", unchanged, len(files))
	}
	if indexed < pendingPhotos {
		t.Errorf("second run indexed %d photos, but %d were left pending by the killed run", indexed, pendingPhotos)
	}
	if !external {
		if cluster.Running(ctx) {
			t.Errorf("the embedded PostgreSQL is still running after `shoebox index` exited")
		}
		// Look at what was left, with the cluster started on our own.
		if err := cluster.Start(ctx); err != nil {
			t.Fatalf("start the embedded cluster to check it: %v", err)
		}
	}
	conn = pgConnect(t, url)
	wantSum := map[string]string{} // rel path -> sha256
	distinct := map[string]bool{}
	for _, f := range files {
		wantSum[f.path] = f.sum
		distinct[f.sum] = true
	}

	if n := queryInt(t, conn, `SELECT count(*) FROM libraries`); n != 1 {
		t.Errorf("%d libraries recorded, want 1", n)
	}
	rows, err := conn.Query(ctx, `SELECT f.rel_path, coalesce(encode(p.hash, 'hex'), ''), coalesce(f.error, '')
		FROM files f LEFT JOIN photos p ON p.id = f.photo_id`)
	if err != nil {
		t.Fatal(err)
	}
	seenFile := map[string]int{}
	for rows.Next() {
		var rel, sum, ferr string
		if err := rows.Scan(&rel, &sum, &ferr); err != nil {
			t.Fatal(err)
		}
		seenFile[rel]++
		switch want, ok := wantSum[rel]; {
		case !ok:
			t.Errorf("files has %q, which is not in the library", rel)
		case ferr != "":
			t.Errorf("file %q recorded with error %q", rel, ferr)
		case sum != want:
			t.Errorf("file %q points at content %s, want %s", rel, sum, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for rel := range wantSum {
		if seenFile[rel] != 1 {
			t.Errorf("file %q recorded %d times, want exactly once", rel, seenFile[rel])
		}
	}

	rows, err = conn.Query(ctx, `SELECT id, encode(hash, 'hex'), state, coalesce(error, '') FROM photos`)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	var ready []string
	seenSum := map[string]int{}
	for rows.Next() {
		var id, sum, state, perr string
		if err := rows.Scan(&id, &sum, &state, &perr); err != nil {
			t.Fatal(err)
		}
		states[state]++
		seenSum[sum]++
		if !distinct[sum] {
			t.Errorf("photo %s has content %s, which no library file has", id, sum)
		}
		if state != "ready" {
			t.Errorf("photo %s is %s (%s), want ready", id, state, perr)
		} else {
			ready = append(ready, id)
		}
		if b, _ := hex.DecodeString(sum); len(b) != 32 {
			t.Errorf("photo %s: hash is not a sha256", id)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for sum := range distinct {
		if seenSum[sum] != 1 {
			t.Errorf("content %s is %d photos, want exactly one", sum, seenSum[sum])
		}
	}
	var jobStates []string
	rows, err = conn.Query(ctx, `SELECT state || ' ' || kind || ': ' || count(*) FROM river_job GROUP BY state, kind ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		jobStates = append(jobStates, s)
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed')`); n != 0 {
		t.Errorf("%d jobs left pending/running/failed: %v", n, jobStates)
	}
	t.Logf("photos by state %v (%d distinct contents, %d files); jobs: %v", states, len(distinct), len(files), jobStates)

	// Every ready photo has its files, whole.
	media := filepath.Join(dataDir, "media")
	for _, id := range ready {
		dir := filepath.Join(media, id[:2])
		thumb, err := os.ReadFile(filepath.Join(dir, id+".thumb.webp"))
		if err != nil || !isWebP(thumb) {
			t.Errorf("photo %s: thumbnail missing or not WebP (%v)", id, err)
		}
		prev, err := os.ReadFile(filepath.Join(dir, id+".preview.jpg"))
		if err != nil || !isJPEG(prev) {
			t.Errorf("photo %s: preview missing or not JPEG (%v)", id, err)
		}
		src, err := thumbs.Store{Dir: media}.ReadSource(id)
		if err != nil {
			t.Errorf("photo %s: no source note: %v", id, err)
		} else if rel, err := filepath.Rel(lib, src.Path); err != nil || wantSum[filepath.ToSlash(rel)] == "" || !src.Verified() {
			t.Errorf("photo %s: source note %+v is not a verified library file", id, src)
		}
	}
	var temps []string
	filepath.Walk(media, func(p string, fi os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(fi.Name(), ".tmp-") {
			temps = append(temps, p)
		}
		return nil
	})
	sort.Strings(temps)
	if len(temps) > 0 {
		t.Logf("note: %d temporary file(s) left in the media folder by the killed run: %v", len(temps), temps)
	}

	conn.Close(ctx)
	if !external {
		if err := cluster.Stop(ctx); err != nil {
			t.Errorf("stop the embedded cluster: %v", err)
		}
		if cluster.Running(ctx) {
			t.Errorf("embedded cluster still running after stop")
		}
	}
}
