package system

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/objstore/s3test"
)

// TestScaleOut is the origin incident at deployment scale (issue 10's
// scenario; run it by hand with `go test -run TestScaleOut -v ./tests/system/`):
// PostgreSQL with max_connections=20 behind a real PgBouncer (transaction
// mode, pool 14); three `shoebox serve --no-index` (budget 4 each) and two
// `shoebox worker` (budget 2 each); media on a real S3 server (SeaweedFS).
// The workers index 2,000 photos while the origin load — 50 thumbnails 20
// times, a burst of 500 requests, 64 gallery readers throughout — goes
// round-robin to the web processes; mid-run one worker and one web process
// are killed with SIGKILL. Every answer is 200, or 503 with Retry-After when
// load is shed; PostgreSQL never sees more than the pool; every photo is
// indexed exactly once, with its media on S3.
func TestScaleOut(t *testing.T) {
	const (
		nPhotos    = 2000
		pool       = 14
		webBudget  = 4
		workBudget = 2
	)
	cluster, _ := startCluster(t, map[string]string{"max_connections": "20"})
	pgb := dbtest.StartPgBouncer(t, cluster, dbtest.PgBouncerOptions{PoolSize: pool})
	dbURL := pgb.URL("shoebox")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgbouncer log:\n%s", tail(pgb.Log(), 3000))
		}
	})
	s3 := s3test.Start(t)
	lib := makeTinyLibrary(t, nPhotos)
	mediaEnv := s3.Env("scale")

	mon := monitorConnsBy(t, pgConnect(t, cluster.URL("postgres")), serverConnsSQL)

	var webs []*server
	for i := 0; i < 3; i++ {
		webs = append(webs, startServe(t, serveOpts{dbURL: dbURL, budget: webBudget, env: mediaEnv, args: []string{"--no-index"}}))
	}
	var workers []*proc
	for i := 0; i < 2; i++ {
		env := shoeboxEnv(append(mediaEnv, "DATABASE_URL="+dbURL, "SHOEBOX_DB_MAX_CONNS="+strconv.Itoa(workBudget))...)
		workers = append(workers, startProc(t, fmt.Sprintf("shoebox worker %d", i), env,
			shoeboxBin, "worker", "--library", lib, "--data", t.TempDir()))
	}

	// Round-robin over the web processes still in rotation.
	var (
		rotMu    sync.Mutex
		rotation = append([]*server(nil), webs...)
		next     atomic.Uint64
	)
	pick := func() *server {
		rotMu.Lock()
		defer rotMu.Unlock()
		return rotation[int(next.Add(1))%len(rotation)]
	}
	var (
		mu       sync.Mutex
		failures []string
		shed     int
		lost     int // requests to the web process killed mid-run, from its kill on
		total    int
		killed   atomic.Pointer[server]
	)
	record := func(path string, wantWebP bool) {
		s := pick()
		code, h, b, err := s.get(path)
		mu.Lock()
		defer mu.Unlock()
		total++
		switch {
		case err != nil && killed.Load() == s:
			lost++ // in flight to, or picked just before removing, the process killed with -9
		case err != nil:
			failures = append(failures, fmt.Sprintf("%s %s: %v", s.base, path, err))
		case code == 503 && h.Get("Retry-After") != "":
			shed++
		case code != 200:
			failures = append(failures, fmt.Sprintf("%s %s: status %d %s", s.base, path, code, tail(string(b), 200)))
		case wantWebP && !isWebP(b):
			failures = append(failures, fmt.Sprintf("%s %s: not a WebP image", s.base, path))
		}
	}

	// Wait for a first gallery page of 50 thumbnails.
	var thumbs []string
	waitFor(t, "a first page of 50 indexed photos", 3*time.Minute, func() bool {
		code, _, page, err := webs[0].get("/")
		if err != nil || code != 200 {
			return false
		}
		thumbs = thumbs[:0]
		for _, img := range imgTags(page) {
			if strings.HasPrefix(img["src"], "/thumbnail/") {
				thumbs = append(thumbs, img["src"])
			}
		}
		return len(thumbs) == 50
	})

	// 64 gallery readers, all through the run.
	stopReaders := make(chan struct{})
	var readers sync.WaitGroup
	for i := 0; i < 64; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			paths := []string{"/", "/api/photos", "/search?q=jpg", "/api/stats"}
			for j := i; ; j++ {
				select {
				case <-stopReaders:
					return
				default:
				}
				record(paths[j%len(paths)], false)
			}
		}()
	}

	// 50 thumbnails, 20 times, from whichever web process is next.
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		for _, src := range thumbs {
			wg.Add(1)
			go func() { defer wg.Done(); record(src, true) }()
		}
		wg.Wait()
		if round == 5 {
			// Mid-run: one worker and one web process die without a word.
			workers[0].kill()
			killed.Store(webs[2])
			rotMu.Lock()
			rotation = rotation[:2]
			rotMu.Unlock()
			webs[2].kill()
			t.Logf("killed worker %d and web %s with SIGKILL", workers[0].pid(), webs[2].base)
		}
	}

	// A burst of 500 concurrent requests.
	start := make(chan struct{})
	var burst sync.WaitGroup
	paths := []string{"/", "/search?q=jpg", "", "/api/stats", "/api/photos"}
	for i := 0; i < 500; i++ {
		p, isThumb := paths[i%len(paths)], false
		if p == "" {
			p, isThumb = thumbs[i%len(thumbs)], true
		}
		burst.Add(1)
		go func() { defer burst.Done(); <-start; record(p, isThumb) }()
	}
	close(start)
	burst.Wait()

	// The surviving worker finishes the library, the killed one's jobs included.
	var st apiStats
	waitFor(t, fmt.Sprintf("all %d photos indexed", nPhotos), 8*time.Minute, func() bool {
		code, _, b, err := webs[0].get("/api/stats")
		if err != nil || code != 200 {
			return false
		}
		st = apiStats{}
		if json.Unmarshal(b, &st) != nil {
			return false
		}
		return st.Photos == nPhotos && st.Queue.Pending == 0
	})
	close(stopReaders)
	readers.Wait()
	mon.halt()

	sort.Strings(failures)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests failed (not 200, nor 503 with Retry-After), e.g.:\n  %s",
			len(failures), total, strings.Join(failures[:min(20, len(failures))], "\n  "))
	}
	max, samples, errs, lastErr := mon.result()
	t.Logf("requests %d, shed (503 + Retry-After) %d, lost with the killed web process %d; server connections: max %d of pool %d (%d samples, %d errors, last %v)",
		total, shed, lost, max, pool, samples, errs, lastErr)
	if samples < 10 || max == 0 {
		t.Fatalf("connection monitor blind: %d samples, max %d", samples, max)
	}
	if max > pool {
		t.Errorf("PostgreSQL saw %d connections, more than PgBouncer's pool of %d", max, pool)
	}

	// Exactly once: one photo per file, every photo ready, no job left
	// behind, and each photo's media on S3.
	conn := pgConnect(t, cluster.URL("shoebox"))
	ctx := context.Background()
	var photos, files, ready, distinctFiles, live int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM photos), (SELECT count(*) FROM photos WHERE state = 'ready'),
		(SELECT count(*) FROM files), (SELECT count(DISTINCT (library_id, rel_path)) FROM files)`).Scan(&photos, &ready, &files, &distinctFiles); err != nil {
		t.Fatal(err)
	}
	if photos != nPhotos || ready != nPhotos || files != nPhotos || distinctFiles != nPhotos {
		t.Errorf("photos %d (ready %d), files %d (distinct %d); want %d of each", photos, ready, files, distinctFiles, nPhotos)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&live); err != nil {
		t.Fatal(err)
	}
	if live != 0 {
		t.Errorf("%d jobs still live after indexing", live)
	}
	var dupJobs int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM (SELECT args FROM river_job WHERE kind = 'process'
		GROUP BY args HAVING count(*) > 1) d`).Scan(&dupJobs); err != nil {
		t.Fatal(err)
	}
	if dupJobs != 0 {
		t.Errorf("%d photos were queued for processing more than once", dupJobs)
	}
	ids := []string{}
	rows, err := conn.Query(ctx, `SELECT id::text FROM photos ORDER BY random() LIMIT 50`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	mc, err := s3.Client()
	if err != nil {
		t.Fatal(err)
	}
	var objects []string
	for o := range mc.ListObjects(ctx, s3.Bucket, minio.ListObjectsOptions{Prefix: "scale/", Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list S3 objects: %v", o.Err)
		}
		objects = append(objects, o.Key)
	}
	for _, id := range ids {
		found := false
		for _, o := range objects {
			if strings.Contains(o, id) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("photo %s has no object on S3", id)
		}
	}
	t.Logf("S3 holds %d objects for %d photos", len(objects), nPhotos)
	for i, w := range workers[1:] {
		if !w.running() {
			t.Errorf("worker %d died: %v", i+1, w.err)
		}
	}
	for _, s := range webs[:2] {
		if !s.running() {
			t.Errorf("web %s died: %v", s.base, s.err)
		}
	}
}

// makeTinyLibrary writes n small distinct JPEGs (64×48, a few kB each).
func makeTinyLibrary(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(uint64(n), 10))
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 64, 48))
		c1 := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
		c2 := color.RGBA{uint8(i), uint8(i >> 8), uint8(r.IntN(256)), 255}
		split := 8 + r.IntN(48)
		for y := 0; y < 48; y++ {
			for x := 0; x < 64; x++ {
				if x < split {
					img.Set(x, y, c1)
				} else {
					img.Set(x, y, c2)
				}
			}
		}
		sub := filepath.Join(dir, fmt.Sprintf("%02d", i/100))
		os.MkdirAll(sub, 0o755)
		f, err := os.Create(filepath.Join(sub, fmt.Sprintf("IMG_%04d.jpg", i)))
		if err != nil {
			t.Fatal(err)
		}
		if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		f.Close()
		mt := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Hour)
		os.Chtimes(f.Name(), mt, mt)
	}
	return dir
}
