package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/jobs"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func fixture(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "testdata", "fixtures", rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s missing: run scripts/setup.sh (make test does): %v", rel, err)
	}
	return p
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type env struct {
	db    *database.DB
	st    *storage.Storage
	store thumbs.Store
	lib   string
	run   func()
	// workers run jobs at once in run; default 2.
	workers int
}

func setup(t *testing.T) *env {
	db := dbtest.Open(t, 6)
	e := &env{db: db, st: storage.New(db), store: thumbs.Store{Dir: t.TempDir()}, lib: t.TempDir(), workers: 2}
	e.run = func() {
		t.Helper()
		e.runUntilEmpty(t, jobs.Options{}, 2*time.Minute)
	}
	return e
}

// runUntilEmpty queues a scan of the library and runs a queue with o (its
// workers, poll and logger set here) until nothing is pending, within wait.
func (e *env) runUntilEmpty(t *testing.T, o jobs.Options, wait time.Duration) {
	t.Helper()
	o.Workers, o.Poll, o.Logger = e.workers, 20*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil))
	r := jobs.New(e.db, e.store, o)
	ctx, cancel := context.WithCancel(context.Background())
	// The scan is queued before any worker starts, so what runs first
	// is the queue's choice, not a race with the workers.
	if err := r.EnqueueScan(ctx, e.lib); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(wait)
	for {
		c, err := e.st.CountJobs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not empty after %s: %+v", wait, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) photoOf(t *testing.T, rel string) string {
	t.Helper()
	var id string
	err := e.db.Do(context.Background(), func(q database.Querier) error {
		return q.QueryRow(context.Background(), `SELECT coalesce(photo_id, '') FROM files WHERE rel_path = $1`, rel).Scan(&id)
	})
	if err != nil {
		t.Fatalf("file %s: %v", rel, err)
	}
	return id
}

func (e *env) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := e.db.Do(context.Background(), func(q database.Querier) error {
		return q.QueryRow(context.Background(), sql).Scan(&n)
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestIndexMoveChangeRemove(t *testing.T) {
	e := setup(t)
	copyFile(t, fixture(t, "orientation/landscape_6.jpg"), filepath.Join(e.lib, "2019/trip/a.jpg"))
	copyFile(t, fixture(t, "orientation/landscape_6.jpg"), filepath.Join(e.lib, "copies/a-again.jpg"))
	copyFile(t, fixture(t, "gps/nikon_d2h_gps.jpg"), filepath.Join(e.lib, "b.jpg"))
	copyFile(t, fixture(t, "formats/flowers_noexif.png"), filepath.Join(e.lib, "c.png"))
	copyFile(t, fixture(t, "corrupt/empty.jpg"), filepath.Join(e.lib, "empty.jpg"))
	e.run()

	if n := e.count(t, `SELECT count(*) FROM photos`); n != 4 {
		t.Fatalf("%d photos, want 4 (identical files are one photo)", n)
	}
	a := e.photoOf(t, "2019/trip/a.jpg")
	if a == "" || a != e.photoOf(t, "copies/a-again.jpg") {
		t.Fatal("identical files must share one photo")
	}
	p, err := e.st.Photo(context.Background(), storage.Scope{}, a)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != "ready" || len(p.Files) != 2 || p.Width != 1600 || p.Height != 1200 || p.Orientation != 6 {
		t.Fatalf("photo a: state %s files %d %dx%d orientation %d", p.State, len(p.Files), p.Width, p.Height, p.Orientation)
	}
	for _, k := range []thumbs.Kind{thumbs.Thumb, thumbs.Preview, thumbs.Source} {
		if !exists(e.store.Path(a, k)) {
			t.Fatalf("%s of a not written", k)
		}
	}
	b, _ := e.st.Photo(context.Background(), storage.Scope{}, e.photoOf(t, "b.jpg"))
	if b.State != "ready" || b.Lat == nil || b.Make == "" || b.TakenSource != "exif" {
		t.Fatalf("photo b lacks EXIF: %+v", b)
	}
	fails, err := e.st.Failures(context.Background(), storage.Scope{}, 10)
	if err != nil || len(fails) != 1 || fails[0].RelPath != "empty.jpg" || fails[0].Reason == "" {
		t.Fatalf("failures %+v %v: want empty.jpg with a reason", fails, err)
	}

	// Move: same content at a new path keeps its id and its thumbnail.
	if err := os.Rename(filepath.Join(e.lib, "b.jpg"), filepath.Join(e.lib, "moved/b.jpg")); err != nil {
		os.MkdirAll(filepath.Join(e.lib, "moved"), 0o755)
		if err := os.Rename(filepath.Join(e.lib, "b.jpg"), filepath.Join(e.lib, "moved/b.jpg")); err != nil {
			t.Fatal(err)
		}
	}
	// Change: new content at an old path is a new photo; the old one goes.
	oldC := e.photoOf(t, "c.png")
	copyFile(t, fixture(t, "noexif/branches_600x400.jpg"), filepath.Join(e.lib, "c.png"))
	// Remove: one of the two copies of a.
	os.Remove(filepath.Join(e.lib, "copies/a-again.jpg"))
	e.run()

	if got := e.photoOf(t, "moved/b.jpg"); got != b.ID {
		t.Fatalf("moved file has photo %s, want its old id %s", got, b.ID)
	}
	if o, _ := e.store.ReadSource(b.ID); o.Path != filepath.Join(e.lib, "moved/b.jpg") || !o.Verified() {
		t.Fatalf("original of moved photo: note %+v", o)
	}
	newC := e.photoOf(t, "c.png")
	if newC == oldC || newC == "" {
		t.Fatal("changed content must be a new photo")
	}
	if exists(e.store.Path(oldC, thumbs.Thumb)) {
		t.Fatal("thumbnail of replaced content not removed")
	}
	if n := e.count(t, `SELECT count(*) FROM photos WHERE id = '`+oldC+`'`); n != 0 {
		t.Fatal("replaced photo still in the database")
	}
	if n := e.count(t, `SELECT count(*) FROM files WHERE photo_id = '`+a+`'`); n != 1 {
		t.Fatalf("photo a has %d files after removing a copy, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM photos WHERE state = 'pending'`); n != 0 {
		t.Fatalf("%d photos still pending", n)
	}
}

// A worker killed mid-job leaves it 'running'; the next runner rescues it
// once the dead worker's heartbeat is stale, and the photo is indexed
// exactly once.
func TestDeadWorkerJobsAreResumed(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	copyFile(t, fixture(t, "noexif/branches_600x400.jpg"), filepath.Join(e.lib, "x.jpg"))
	e.run()
	id := e.photoOf(t, "x.jpg")
	// Simulate a crash: a dead worker holds the photo's job.
	if err := e.st.Enqueue(ctx, jobs.ProcessJob(id)); err != nil {
		t.Fatal(err)
	}
	err := e.db.Do(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `UPDATE photos SET state = 'pending' WHERE id = $1`, id); err != nil {
			return err
		}
		if _, err := q.Exec(ctx, `INSERT INTO job_clients (id, hostname, pid, heartbeat_at)
			VALUES ('gone-1-0', 'gone', 1, now() - interval '1 hour')`); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),
			attempted_by = ARRAY['gone-1-0'] WHERE kind = 'process' AND args->>'id' = $1 AND state = 'available'`, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	if n := e.count(t, `SELECT count(*) FROM photos WHERE state = 'ready'`); n != 1 {
		t.Fatalf("%d ready photos, want 1", n)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed')`); n != 0 {
		t.Fatalf("%d jobs left", n)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'process' AND 'gone-1-0' = ANY(attempted_by) AND attempt = 2`); n != 1 {
		t.Fatalf("the dead worker's job was not resumed by the next worker (%d)", n)
	}
}

// A scan runs before processing work queued earlier: it finds the work, so
// it has the queue's top priority (it was once rewritten to the default and
// waited behind every photo).
func TestScanRunsFirst(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	copyFile(t, fixture(t, "noexif/branches_600x400.jpg"), filepath.Join(e.lib, "x.jpg"))
	// Work queued before the scan: processing of photos that are gone by
	// now (each is a quick no-op), as a library of pending photos would be.
	for _, key := range []string{"gone1", "gone2", "gone3"} {
		if err := e.st.Enqueue(ctx, jobs.ProcessJob(key)); err != nil {
			t.Fatal(err)
		}
	}
	e.workers = 1
	e.run()
	var order []string
	err := e.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT kind || ':' || coalesce(args->>'root', args->>'id') FROM river_job
			WHERE state = 'completed' ORDER BY finalized_at, id`)
		if err != nil {
			return err
		}
		order, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 5 || order[0] != "scan:"+e.lib {
		t.Fatalf("jobs ran in order %v, want the scan first", order)
	}
	if id := e.photoOf(t, "x.jpg"); e.count(t, `SELECT count(*) FROM photos WHERE state = 'ready' AND id = '`+id+`'`) != 1 {
		t.Fatal("the scanned photo was not processed")
	}
}
