// Command timeline measures the gallery's timeline at scale: N synthetic
// photos (one month of them holding M), the queries and pages the timeline
// makes, and a browser rendering and scrolling that month.
//
//	go run ./bench/timeline -n 100000 -month 5000     # a minute or two on 2 cores
//
// It starts its own throwaway PostgreSQL cluster (database.NewCluster in a
// temporary folder), migrates it, bulk-loads the photos and their files with
// COPY, and measures, one request at a time after a warm-up:
//
//   - the scrubber's query (storage.MonthCounts), for every library and in a
//     limited scope, p50/p99;
//   - a month's first page (storage.ListPhotos from a month's end, 50
//     photos), for months across the library, p50/p99;
//   - the same through HTTP: GET /?at=YYYY-MM (the whole page: list, month
//     counts, template) and GET /api/timeline, each request made distinct so
//     the page cache does not answer it;
//   - with -browser (default when chromium and e2e/node_modules are there):
//     chromium opens /?at= of the big month and scrolls through all of it
//     (bench/timeline/browser.mjs): time to the first tiles, time to scroll
//     the month, frame times, and the most tiles and elements in the page at
//     once.
//
// Nothing is asserted: it prints a markdown table and writes it to
// bench/out/timeline-N.md.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/bench/internal/benchrun"
	"shoebox/internal/database"
	"shoebox/internal/library"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
	"shoebox/internal/web"
)

// The big month, after every other photo.
var bigMonth = time.Date(2016, 3, 1, 0, 0, 0, 0, time.UTC)

// prog prints this program's messages.
const prog = benchrun.Program("bench/timeline")

func main() {
	n := flag.Int("n", 100000, "photos in the library")
	month := flag.Int("month", 5000, "of them, photos taken in one month (March 2016)")
	runs := flag.Int("runs", 200, "measured requests of each kind")
	browser := flag.String("browser", "auto", "scroll the month in chromium: yes, no or auto (when chromium and e2e/node_modules exist)")
	out := flag.String("out", "", "folder for timeline-N.md (default: bench/out of the module)")
	flag.Parse()
	if *n < 1000 || *month < 1 || *month > *n/2 || *runs < 10 {
		prog.Fatal(errors.New("bad flags: -n >= 1000, 1 <= -month <= n/2, -runs >= 10"))
	}
	root := benchrun.ModuleRoot()
	if *out == "" {
		*out = filepath.Join(root, "bench", "out")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{n: *n, month: *month, runs: *runs, root: root}
	switch *browser {
	case "yes":
		b.browser = true
	case "auto":
		_, err1 := os.Stat("/usr/bin/chromium")
		_, err2 := os.Stat(filepath.Join(root, "e2e", "node_modules", "playwright-core"))
		_, err3 := exec.LookPath("node")
		b.browser = err1 == nil && err2 == nil && err3 == nil
	}
	err := b.run(ctx)
	b.destroy()
	if err != nil {
		prog.Fatal(err)
	}
	table := b.table()
	fmt.Print(table)
	if err := os.MkdirAll(*out, 0o755); err == nil {
		err = os.WriteFile(filepath.Join(*out, fmt.Sprintf("timeline-%d.md", *n)), []byte(table), 0o644)
		if err != nil {
			prog.Logf("writing the table: %v", err)
		}
	}
}

type bench struct {
	n, month, runs int
	root           string
	browser        bool
	cluster        *database.Cluster
	db             *database.DB
	tmp            string
	rows           [][2]string
}

func (b *bench) add(metric, value string) { b.rows = append(b.rows, [2]string{metric, value}) }

func (b *bench) destroy() {
	if b.db != nil {
		b.db.Close()
	}
	if b.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := b.cluster.Stop(ctx); err != nil {
			prog.Logf("stopping the cluster: %v", err)
		}
		cancel()
		os.RemoveAll(b.cluster.Root)
		os.RemoveAll(b.cluster.SocketDir)
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
}

// photoID is the i-th photo's id, of the shape Shoebox gives them.
func photoID(i int) string {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	return library.PhotoID(sum[:])
}

// takenAt spreads the photos: the first `month` over bigMonth, the rest
// every 30 minutes backwards from its start (about 5 years for 100,000).
func (b *bench) takenAt(i int) time.Time {
	if i < b.month {
		span := bigMonth.AddDate(0, 1, 0).Sub(bigMonth)
		return bigMonth.Add(span / time.Duration(b.month) * time.Duration(i))
	}
	return bigMonth.Add(-time.Duration(i-b.month+1) * 30 * time.Minute)
}

var shapes = [][2]int{{250, 188}, {188, 250}, {250, 250}, {250, 141}, {250, 167}}

func (b *bench) run(ctx context.Context) error {
	var err error
	if b.tmp, err = os.MkdirTemp("", "shoebox-tlbench-"); err != nil {
		return err
	}
	os.Chmod(b.tmp, 0o755)
	cl, err := database.NewCluster(filepath.Join(b.tmp, "pg"), map[string]string{
		"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "50"})
	if err != nil {
		return err
	}
	b.cluster = cl
	if err := cl.Init(ctx); err != nil {
		return err
	}
	if err := cl.Start(ctx); err != nil {
		return err
	}
	url := cl.URL("postgres")
	if b.db, err = database.Open(ctx, database.Options{URL: url, MaxConns: 8, AcquireTimeout: 5 * time.Second}); err != nil {
		return err
	}
	if err := b.db.Migrate(ctx); err != nil {
		return err
	}
	st := storage.New(b.db)
	t0 := time.Now()
	lib, other, err := b.load(ctx, url)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	prog.Logf("loaded %d photos (%d in %s) in %s", b.n, b.month, bigMonth.Format("January 2006"), time.Since(t0).Round(time.Millisecond))
	b.add("Photos (in the big month)", fmt.Sprintf("%d (%d, %s)", b.n, b.month, bigMonth.Format("January 2006")))
	b.add("Machine", fmt.Sprintf("%d cores, load %s", runtime.NumCPU(), benchrun.LoadAvg()))

	// ------------------------------------------------------ storage --
	counts, err := st.MonthCounts(ctx, storage.Scope{})
	if err != nil {
		return err
	}
	b.add("Months in the scrubber", fmt.Sprint(len(counts)))
	scoped := storage.Only([]int32{int32(lib)})
	var ds []time.Duration
	if ds, err = b.measure(func(int) error { _, err := st.MonthCounts(ctx, storage.Scope{}); return err }); err != nil {
		return err
	}
	b.add("Scrubber query (MonthCounts), every library: p50 / p99", pcts(ds))
	if ds, err = b.measure(func(int) error { _, err := st.MonthCounts(ctx, scoped); return err }); err != nil {
		return err
	}
	b.add(fmt.Sprintf("Scrubber query, a limited scope (1 of 2 libraries, %d photos not in it): p50 / p99", other), pcts(ds))
	months := make([]time.Time, 0, len(counts))
	for _, c := range counts {
		months = append(months, time.Date(c.Year, time.Month(c.Month), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if ds, err = b.measure(func(int) error {
		_, _, err := st.ListPhotos(ctx, storage.ListParams{Before: months[rng.IntN(len(months))], Limit: 50})
		return err
	}); err != nil {
		return err
	}
	b.add("A month's first page (ListPhotos from its end, 50), random months: p50 / p99", pcts(ds))

	// --------------------------------------------------------- HTTP --
	store := thumbs.Store{Dir: filepath.Join(b.tmp, "thumbs")}
	h, err := web.New(b.db, st, store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	at := bigMonth.Format("2006-01")
	var size int
	if ds, err = b.measure(func(i int) error {
		// A distinct query string: the page cache must not answer.
		n, err := fetch(srv.URL + fmt.Sprintf("/?at=%s&bench=%d", at, i))
		size = n
		return err
	}); err != nil {
		return err
	}
	b.add(fmt.Sprintf("GET /?at=%s (page, scrubber, render; uncached, %d kB): p50 / p99", at, size/1024), pcts(ds))
	if ds, err = b.measure(func(i int) error { _, err := fetch(srv.URL + fmt.Sprintf("/api/timeline?bench=%d", i)); return err }); err != nil {
		return err
	}
	b.add("GET /api/timeline (uncached): p50 / p99", pcts(ds))

	// ------------------------------------------------------ browser --
	if !b.browser {
		b.add("Browser: render and scroll the month", "skipped (no chromium, node or e2e/node_modules)")
		return nil
	}
	return b.scroll(ctx, store, srv.URL, at)
}

// measure runs fn a tenth of runs to warm up, then runs times, timing each.
func (b *bench) measure(fn func(i int) error) ([]time.Duration, error) {
	for i := 0; i < b.runs/10; i++ {
		if err := fn(-1 - i); err != nil {
			return nil, err
		}
	}
	ds := make([]time.Duration, 0, b.runs)
	for i := 0; i < b.runs; i++ {
		t := time.Now()
		if err := fn(i); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t))
	}
	return ds, nil
}

func fetch(url string) (int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %d %.200s", url, resp.StatusCode, body)
	}
	return len(body), err
}

// load copies the photos in: all in one library, plus a second library
// holding every tenth photo not in the big month (the limited scope's
// query must skip them). It returns the first library and how many photos
// only the second holds.
func (b *bench) load(ctx context.Context, url string) (int, int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(context.Background())
	var lib, lib2 int
	if err := conn.QueryRow(ctx, `INSERT INTO libraries (root) VALUES ('/bench') RETURNING id`).Scan(&lib); err != nil {
		return 0, 0, err
	}
	if err := conn.QueryRow(ctx, `INSERT INTO libraries (root) VALUES ('/bench2') RETURNING id`).Scan(&lib2); err != nil {
		return 0, 0, err
	}
	now := time.Now()
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"photos"},
		[]string{"id", "hash", "size", "state", "format", "width", "height", "thumb_width", "thumb_height", "taken_at", "indexed_at"},
		pgx.CopyFromSlice(b.n, func(i int) ([]any, error) {
			h := sha256.Sum256([]byte(photoID(i)))
			s := shapes[i%len(shapes)]
			return []any{photoID(i), h[:], int64(3_000_000), "ready", "jpeg", s[0] * 16, s[1] * 16, s[0], s[1], b.takenAt(i), now}, nil
		}))
	if err != nil {
		return 0, 0, fmt.Errorf("photos: %w", err)
	}
	other := 0
	files := func(i int) (int, string) {
		if i >= b.month && i%10 == 0 {
			return lib2, fmt.Sprintf("other/IMG_%07d.jpg", i)
		}
		return lib, fmt.Sprintf("%s/IMG_%07d.jpg", b.takenAt(i).Format("2006/01"), i)
	}
	for i := 0; i < b.n; i++ {
		if l, _ := files(i); l == lib2 {
			other++
		}
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"files"}, []string{"library_id", "rel_path", "photo_id", "size", "mtime"},
		pgx.CopyFromSlice(b.n, func(i int) ([]any, error) {
			l, rel := files(i)
			return []any{l, rel, photoID(i), int64(3_000_000), now}, nil
		}))
	if err != nil {
		return 0, 0, fmt.Errorf("files: %w", err)
	}
	_, err = conn.Exec(ctx, `VACUUM (ANALYZE) photos, files`)
	return lib, other, err
}

// scroll gives the big month's photos a thumbnail (one small WebP made by
// vips, the same for all) and runs browser.mjs on the month.
func (b *bench) scroll(ctx context.Context, store thumbs.Store, url, at string) error {
	webp := filepath.Join(b.tmp, "t.webp")
	if out, err := exec.CommandContext(ctx, "vips", "gaussnoise", webp+"[Q=60]", "250", "188").CombinedOutput(); err != nil {
		return fmt.Errorf("vips: %v: %s", err, out)
	}
	img, err := os.ReadFile(webp)
	if err != nil {
		return err
	}
	for i := 0; i < b.month; i++ {
		if err := store.Write(photoID(i), thumbs.Thumb, img); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join(b.root, "bench", "timeline", "browser.mjs"), url, at, fmt.Sprint(b.month))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("browser.mjs: %w", err)
	}
	var r struct {
		FirstTilesMs, ScrollMs, Frames, FrameP50, FrameP95, FrameMax float64
		LongFrames, Shown, MaxTiles, MaxElements                     int
		HeapMB                                                       float64
		Fetches                                                      int
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return fmt.Errorf("browser.mjs said %q: %w", out, err)
	}
	b.add(fmt.Sprintf("Browser: /?at=%s to the first tiles on screen", at), fmt.Sprintf("%.0f ms", r.FirstTilesMs))
	b.add(fmt.Sprintf("Browser: scroll through the month (%d photos seen, %d pages fetched)", r.Shown, r.Fetches), fmt.Sprintf("%.1f s, %.0f frames", r.ScrollMs/1000, r.Frames))
	b.add("Browser: frame time p50 / p95 / max; frames over 50 ms", fmt.Sprintf("%.1f / %.1f / %.0f ms; %d", r.FrameP50, r.FrameP95, r.FrameMax, r.LongFrames))
	b.add("Browser: most tiles / elements in the page at once; JS heap at the end", fmt.Sprintf("%d / %d; %.1f MB", r.MaxTiles, r.MaxElements, r.HeapMB))
	return nil
}

func pcts(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	p := func(q float64) string {
		return fmt.Sprintf("%.2f ms", float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds())/1000)
	}
	return p(0.50) + " / **" + p(0.99) + "**"
}

func (b *bench) table() string {
	var s strings.Builder
	fmt.Fprintf(&s, "\n## Timeline at %d photos (%s)\n\n| Figure | Value |\n|---|---|\n", b.n, time.Now().Format("2006-01-02"))
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s | %s |\n", r[0], r[1])
	}
	return s.String()
}
