package web_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/jobs"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
	"shoebox/internal/web"
)

// scrape reads /metrics as Prometheus would and parses it.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %d %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// sample finds the metric of family name whose labels include want.
func sample(fams map[string]*dto.MetricFamily, name string, want ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if got[want[i]] != want[i+1] {
				continue next
			}
		}
		return m
	}
	return nil
}

// value is the number of a counter or gauge sample; -1 when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := sample(fams, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

func TestMetricsRoutesPoolQueueAndRuntime(t *testing.T) {
	s := newSite(t, 4, 4, plainName)
	ctx := context.Background()
	for range 3 {
		if resp, _ := get(t, s.srv.URL+"/thumbnail/"+s.ids[0]); resp.StatusCode != 200 {
			t.Fatalf("thumbnail: %d", resp.StatusCode)
		}
	}
	for range 2 {
		if resp, _ := get(t, s.srv.URL+"/api/photos"); resp.StatusCode != 200 {
			t.Fatalf("api/photos: %d", resp.StatusCode)
		}
	}
	if resp, _ := get(t, s.srv.URL+"/no/such/page"); resp.StatusCode != 404 {
		t.Fatalf("unknown page: %d", resp.StatusCode)
	}

	// The queue: newSite saved its photos through storage alone, which
	// enqueues nothing (jobs enqueues processing with the scanned files):
	// add 3 process jobs (one of them claimed: running), 2 embed jobs, and
	// a scan job that fails all its attempts.
	base := value(scrape(t, s.srv.URL), "shoebox_queue_jobs", "kind", "process", "state", "pending")
	if base != 0 {
		t.Fatalf("newSite left %v process jobs pending, want none", base)
	}
	if err := s.st.Enqueue(ctx, jobs.ProcessJob("a"), jobs.ProcessJob("b"), jobs.ProcessJob("c"),
		jobs.EmbedJob("a"), jobs.EmbedJob("b"), jobs.ScanJob("/photos")); err != nil {
		t.Fatal(err)
	}
	// One process job runs; the scan failed all its attempts (discarded).
	for _, sql := range []string{
		`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(), attempted_by = ARRAY['w1']
			WHERE id = (SELECT min(id) FROM river_job WHERE kind = 'process')`,
		`UPDATE river_job SET state = 'discarded', attempt = max_attempts, finalized_at = now() WHERE kind = 'scan'`,
	} {
		if _, err := s.db.Pool.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	fams := scrape(t, s.srv.URL)

	// Requests by route pattern and code; the histogram has its buckets.
	if n := value(fams, "shoebox_http_requests_total", "route", "GET /thumbnail/{id}", "code", "200"); n != 3 {
		t.Errorf("thumbnail requests counted %v, want 3", n)
	}
	if n := value(fams, "shoebox_http_requests_total", "route", "GET /api/photos", "code", "200"); n != 2 {
		t.Errorf("api/photos requests counted %v, want 2", n)
	}
	if n := value(fams, "shoebox_http_requests_total", "route", "unmatched", "code", "404"); n != 1 {
		t.Errorf("unmatched 404 counted %v, want 1", n)
	}
	h := sample(fams, "shoebox_http_request_duration_seconds", "route", "GET /thumbnail/{id}")
	if h == nil || h.Histogram == nil {
		t.Fatalf("no latency histogram for the thumbnail route")
	}
	if h.Histogram.GetSampleCount() != 3 || len(h.Histogram.Bucket) < 10 {
		t.Errorf("thumbnail histogram: %d samples, %d buckets; want 3 samples, at least 10 buckets", h.Histogram.GetSampleCount(), len(h.Histogram.Bucket))
	}
	last := h.Histogram.Bucket[len(h.Histogram.Bucket)-1]
	if last.GetCumulativeCount() != 3 || last.GetUpperBound() < 5 {
		t.Errorf("last bucket le=%v holds %d, want all 3", last.GetUpperBound(), last.GetCumulativeCount())
	}

	// Go runtime and process collectors.
	for _, name := range []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "go_gc_duration_seconds",
		"process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "process_open_fds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	// Pool figures agree with the pool.
	st := s.db.Stats()
	if v := value(fams, "shoebox_db_max_conns"); v != 4 || int32(v) != st.MaxConns {
		t.Errorf("shoebox_db_max_conns %v, pool says %d, budget 4", v, st.MaxConns)
	}
	if v := value(fams, "shoebox_db_background_share"); int(v) != st.BackgroundShare || v != 2 {
		t.Errorf("shoebox_db_background_share %v, pool says %d", v, st.BackgroundShare)
	}
	acq, idle, total := value(fams, "shoebox_db_acquired_conns"), value(fams, "shoebox_db_idle_conns"), value(fams, "shoebox_db_total_conns")
	if acq < 0 || idle < 0 || total < acq+idle || total > 4 || total < 1 {
		t.Errorf("pool gauges inconsistent: acquired %v idle %v total %v (budget 4)", acq, idle, total)
	}
	if v := value(fams, "shoebox_db_acquire_total"); v < 2 || v > float64(st.AcquireCount) {
		t.Errorf("shoebox_db_acquire_total %v: want at least the 2 API requests, at most the pool's %d now", v, st.AcquireCount)
	}
	for _, name := range []string{"shoebox_db_empty_acquire_total", "shoebox_db_acquire_wait_seconds_total",
		"shoebox_db_canceled_acquire_total", "shoebox_db_acquire_timeouts_total", "shoebox_db_unavailable_total"} {
		if f := fams[name]; f == nil || f.GetType() != dto.MetricType_COUNTER {
			t.Errorf("%s missing or not a counter", name)
		}
	}

	// Queue depth per kind and state, as inserted.
	if v := value(fams, "shoebox_db_up"); v != 1 {
		t.Errorf("shoebox_db_up %v, want 1", v)
	}
	for _, w := range []struct {
		kind, state string
		n           float64
	}{
		{"process", "pending", base + 2}, {"process", "running", 1}, {"process", "failed", 0},
		{"embed", "pending", 2}, {"embed", "running", 0},
		{"scan", "failed", 1}, {"scan", "pending", 0},
		{"duplicates", "pending", 0}, // never queued: shown as 0, not left out
	} {
		if v := value(fams, "shoebox_queue_jobs", "kind", w.kind, "state", w.state); v != w.n {
			t.Errorf("shoebox_queue_jobs{kind=%q,state=%q} = %v, want %v", w.kind, w.state, v, w.n)
		}
	}
}

// TestMetricsHostileURLsAddNoSeries: paths a client makes up (random ids,
// unknown pages, other methods) count under the route pattern or
// "unmatched": the raw path never becomes a label value.
func TestMetricsHostileURLsAddNoSeries(t *testing.T) {
	s := newSite(t, 1, 2, plainName)
	random := func() string {
		b := make([]byte, 12)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	hostile := func() {
		for range 20 {
			id := random()
			for _, p := range []string{"/thumbnail/" + id, "/" + id, "/api/" + id + "/x", "/static/" + id + "/" + id, "/thumbnail/" + id + "/..%2f..%2fetc"} {
				get(t, s.srv.URL+p)
			}
			req, _ := http.NewRequest("DELETE", s.srv.URL+"/thumbnail/"+id, nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}
	series := func(fams map[string]*dto.MetricFamily) (n int, routes map[string]bool) {
		routes = map[string]bool{}
		for _, name := range []string{"shoebox_http_requests_total", "shoebox_http_request_duration_seconds"} {
			for _, m := range fams[name].GetMetric() {
				n++
				for _, l := range m.Label {
					if l.GetName() == "route" {
						routes[l.GetValue()] = true
					}
				}
			}
		}
		return n, routes
	}
	hostile()
	before, routes := series(scrape(t, s.srv.URL))
	for r := range routes {
		if r != "unmatched" && !strings.HasPrefix(r, "GET /") {
			t.Errorf("route label %q is not a registered pattern", r)
		}
		if strings.ContainsAny(r, "0123456789") || strings.Contains(r, "..") {
			t.Errorf("route label %q carries a client's path", r)
		}
	}
	if !routes["GET /thumbnail/{id}"] || !routes["unmatched"] {
		t.Errorf("route labels %v: want the thumbnail pattern and unmatched", routes)
	}
	hostile() // new random paths, same patterns: no new series
	after, _ := series(scrape(t, s.srv.URL))
	// The first scrape itself adds the /metrics route's series, nothing else.
	if after > before+2 {
		t.Errorf("%d request series after more random URLs, %d before: a client can grow the label set", after, before)
	}
}

// TestMetricsWithDatabaseDown: with the database stopped, a scrape still
// answers 200, says shoebox_db_up 0, and shows everything that does not
// need the database.
func TestMetricsWithDatabaseDown(t *testing.T) {
	ctx := context.Background()
	c := dbtest.StartCluster(t, nil)
	db, err := database.Open(ctx, database.Options{URL: c.URL("postgres"), MaxConns: 2, AcquireTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st := storage.New(db)
	if err := st.Enqueue(ctx, jobs.ProcessJob("x")); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(db, st, thumbs.Store{Dir: t.TempDir()}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)

	fams := scrape(t, srv.URL)
	if value(fams, "shoebox_db_up") != 1 || value(fams, "shoebox_queue_jobs", "kind", "process", "state", "pending") != 1 {
		t.Fatalf("with the database up: db_up %v, process pending %v", value(fams, "shoebox_db_up"),
			value(fams, "shoebox_queue_jobs", "kind", "process", "state", "pending"))
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	fams = scrape(t, srv.URL)
	t.Logf("scrape with the database down answered in %s", time.Since(start).Round(time.Millisecond))
	if v := value(fams, "shoebox_db_up"); v != 0 {
		t.Errorf("shoebox_db_up %v with the database stopped, want 0", v)
	}
	if fams["shoebox_queue_jobs"] != nil {
		t.Errorf("queue figures shown while the database is down: %v", fams["shoebox_queue_jobs"])
	}
	for _, name := range []string{"shoebox_db_max_conns", "shoebox_http_requests_total", "go_goroutines", "process_start_time_seconds"} {
		if fams[name] == nil {
			t.Errorf("%s missing while the database is down", name)
		}
	}
}

// TestMetricsCountIndexing runs the real indexer (libvips, real files) with
// its figures on the server's registry, as serve does.
func TestMetricsCountIndexing(t *testing.T) {
	s := newSite(t, 0, 6, plainName)
	lib := t.TempDir()
	for _, f := range []struct{ src, dst string }{
		{"orientation/landscape_1.jpg", "a.jpg"},
		{"orientation/portrait_6.jpg", "b.jpg"},
		{"gps/nikon_d2h_gps.jpg", "c.jpg"},
		{"corrupt/empty.jpg", "broken.jpg"},
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", f.src))
		if err != nil {
			t.Fatalf("fixture %s: %v (run scripts/setup.sh)", f.src, err)
		}
		if err := os.WriteFile(filepath.Join(lib, f.dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := web.New(s.db, s.st, s.store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	r := jobs.New(s.db, s.store, jobs.Options{Workers: 2, Poll: 20 * time.Millisecond,
		Metrics: jobs.NewMetrics(h.Registerer()), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	drain := func() {
		t.Helper()
		if err := r.EnqueueScan(ctx, lib); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			c, err := s.st.CountJobs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Pending == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("queue not empty after 2 minutes: %+v", c)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	drain()
	fams := scrape(t, srv.URL)
	var ready, failed int
	if err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'ready'), count(*) FILTER (WHERE state = 'failed') FROM photos`).Scan(&ready, &failed)
	}); err != nil {
		t.Fatal(err)
	}
	if ready != 3 || failed != 1 {
		t.Fatalf("indexed %d photos, %d failed; want 3 and 1", ready, failed)
	}
	if v := value(fams, "shoebox_photos_indexed_total"); v != float64(ready) {
		t.Errorf("shoebox_photos_indexed_total %v, %d photos ready", v, ready)
	}
	if v := value(fams, "shoebox_photos_failed_total"); v != float64(failed) {
		t.Errorf("shoebox_photos_failed_total %v, %d photos failed", v, failed)
	}
	if v := value(fams, "shoebox_files_scanned_total"); v != 4 {
		t.Errorf("shoebox_files_scanned_total %v, want the 4 files", v)
	}
	if v := value(fams, "shoebox_files_unchanged_total"); v != 0 {
		t.Errorf("shoebox_files_unchanged_total %v on the first scan", v)
	}
	if v := value(fams, "shoebox_embeddings_total"); v != 0 {
		t.Errorf("shoebox_embeddings_total %v without a model", v)
	}
	for _, kind := range []string{"scan", "process"} {
		m := sample(fams, "shoebox_job_duration_seconds", "kind", kind)
		if m == nil || m.Histogram.GetSampleCount() == 0 {
			t.Errorf("no %s job durations", kind)
		}
	}
	if m := sample(fams, "shoebox_job_duration_seconds", "kind", "process"); m != nil && m.Histogram.GetSampleCount() != 4 {
		t.Errorf("%d process job durations, want one per photo (4)", m.Histogram.GetSampleCount())
	}

	// A rescan reads nothing again: the indexed files are unchanged.
	drain()
	fams = scrape(t, srv.URL)
	if v := value(fams, "shoebox_files_unchanged_total"); v != 4 {
		t.Errorf("shoebox_files_unchanged_total %v after a rescan, want the 4 files", v)
	}
	if v := value(fams, "shoebox_photos_indexed_total"); v != float64(ready) {
		t.Errorf("shoebox_photos_indexed_total %v after a rescan of unchanged files, want still %d", v, ready)
	}
}
