package system

import (
	"fmt"
	"net/http/cookiejar"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
)

// TestOriginGalleryWithinBudget is the incident Shoebox exists to beat: a
// gallery of 50 thumbnails that opened 50 database connections and died
// with "too many clients". On a server with max_connections=20 and a budget
// of 8, the gallery, its 50 thumbnails 20 times over, and then a burst of
// 500 concurrent mixed requests must all answer 200 while the server never
// holds more than 8 connections (sampled from pg_stat_activity throughout,
// indexing included).
func TestOriginGalleryWithinBudget(t *testing.T) { originScenario(t, originOpts{}) }

// TestOriginSignedIn is the same incident with an account and a signed-in
// browser: authenticating pages (a bounded session cache, one statement a
// second at most) and media (a signed grant, no SQL) keeps every answer 200
// within the same budget of 8 connections.
func TestOriginSignedIn(t *testing.T) { originScenario(t, originOpts{signedIn: true}) }

// TestOriginThroughPgBouncer is the incident again with a real PgBouncer
// (Debian 12's 1.18, transaction mode, pool of 6) between Shoebox (budget 8)
// and PostgreSQL: Shoebox recognises the pooler, indexes and answers every
// request, and PostgreSQL never sees more connections than the pool.
func TestOriginThroughPgBouncer(t *testing.T) { originScenario(t, originOpts{pgbouncerPool: 6}) }

type originOpts struct {
	signedIn      bool
	pgbouncerPool int // > 0: Shoebox reaches PostgreSQL through PgBouncer with this pool
}

func originScenario(t *testing.T, o originOpts) {
	const budget = 8
	signedIn := o.signedIn
	cluster, dbURL := startCluster(t, map[string]string{"max_connections": "20"})
	lib, files := makeLibrary(t, 64, 0)
	if signedIn {
		addUser(t, dbURL, "anna", annaPassword, true)
	}

	limit, monSQL := budget, shoeboxConnsSQL
	if o.pgbouncerPool > 0 {
		pgb := dbtest.StartPgBouncer(t, cluster, dbtest.PgBouncerOptions{PoolSize: o.pgbouncerPool})
		dbURL = pgb.URL("shoebox")
		limit, monSQL = o.pgbouncerPool, serverConnsSQL
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("pgbouncer log:\n%s", tail(pgb.Log(), 3000))
			}
		})
	}
	mon := monitorConnsBy(t, pgConnect(t, cluster.URL("postgres")), monSQL)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: budget})
	if signedIn {
		if st, _, _, _ := s.get("/api/stats"); st != 401 {
			t.Fatalf("/api/stats before signing in: %d, want 401", st)
		}
		s.client.Jar, _ = cookiejar.New(nil)
		if resp, body := postLogin(t, s.client, s.base, "anna", annaPassword, nil); resp.StatusCode != 303 {
			t.Fatalf("sign-in: %d %s", resp.StatusCode, tail(body, 300))
		}
	}
	st := s.waitIndexed(t, 3*time.Minute)
	t.Logf("indexed: %d photos from %d files (queue failed %d)", st.Photos, len(files), st.Queue.Failed)
	if st.Photos < 51 {
		t.Fatalf("only %d photos indexed out of %d distinct files; need > 50 for a full gallery page", st.Photos, len(files))
	}

	// The gallery page: 50 tiles, each sized before its image loads, lazily.
	_, page := s.mustGet(t, "/", 200)
	var thumbs []string
	for _, img := range imgTags(page) {
		src := img["src"]
		if !strings.HasPrefix(src, "/thumbnail/") {
			continue
		}
		thumbs = append(thumbs, src)
		w, _ := strconv.Atoi(img["width"])
		h, _ := strconv.Atoi(img["height"])
		if w <= 0 || h <= 0 {
			t.Errorf("thumbnail %s has no width/height (%q x %q): the grid cannot be laid out before it loads", src, img["width"], img["height"])
		}
		if img["loading"] != "lazy" {
			t.Errorf("thumbnail %s: loading=%q, want lazy", src, img["loading"])
		}
	}
	if len(thumbs) != 50 {
		t.Fatalf("gallery has %d thumbnails, want 50", len(thumbs))
	}
	if !strings.Contains(string(page), `rel="next"`) {
		t.Errorf("gallery of %d photos has no link to the next page", st.Photos)
	}

	type result struct {
		path   string
		status int
		err    error
		webp   bool
	}
	fetch := func(path string) result {
		code, _, b, err := s.get(path)
		return result{path: path, status: code, err: err, webp: isWebP(b)}
	}
	var (
		mu       sync.Mutex
		failures []string
		total    int
	)
	record := func(r result, wantWebP bool) {
		mu.Lock()
		defer mu.Unlock()
		total++
		switch {
		case r.err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v", r.path, r.err))
		case r.status != 200:
			failures = append(failures, fmt.Sprintf("%s: status %d", r.path, r.status))
		case wantWebP && !r.webp:
			failures = append(failures, fmt.Sprintf("%s: body is not a WebP image", r.path))
		}
	}

	// A browser opening the gallery 20 times: the page, then its 50
	// thumbnails at once.
	for round := 0; round < 20; round++ {
		record(fetch("/"), false)
		var wg sync.WaitGroup
		for _, src := range thumbs {
			wg.Add(1)
			go func() { defer wg.Done(); record(fetch(src), true) }()
		}
		wg.Wait()
	}

	// A burst of 500 concurrent requests over the pages that query.
	paths := []string{"/", "/search?q=jpg", "", "/api/stats", "/api/photos"}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 500; i++ {
		p := paths[i%len(paths)]
		isThumb := p == ""
		if isThumb {
			p = thumbs[i%len(thumbs)]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			record(fetch(p), isThumb)
		}()
	}
	close(start)
	wg.Wait()
	mon.halt()

	sort.Strings(failures)
	if len(failures) > 0 {
		t.Errorf("%d of %d requests did not answer 200, e.g.:\n  %s", len(failures), total, strings.Join(failures[:min(20, len(failures))], "\n  "))
	}
	max, samples, errs, lastErr := mon.result()
	after := s.stats(t)
	t.Logf("requests: %d (all 200: %v); pg_stat_activity samples: %d (errors %d), max connections seen: %d (limit %d, budget %d); pool: %+v",
		total, len(failures) == 0, samples, errs, max, limit, budget, after.DB)
	if samples < 10 {
		t.Fatalf("only %d connection samples (errors %d, last %v): the budget was not observed", samples, errs, lastErr)
	}
	if max == 0 {
		t.Fatalf("never saw a connection with application_name 'shoebox': the check is blind")
	}
	if max > limit {
		t.Errorf("PostgreSQL saw %d connections at once, over the limit of %d (budget %d, pgbouncer pool %d)", max, limit, budget, o.pgbouncerPool)
	}
	if o.pgbouncerPool > 0 {
		doc := startProc(t, "doctor", shoeboxEnv("DATABASE_URL="+dbURL), shoeboxBin, "doctor", "--data", t.TempDir())
		if err := doc.wait(t, 60*time.Second); err != nil {
			t.Fatalf("doctor through pgbouncer: %v\n%s%s", err, doc.stdout.String(), doc.stderr.String())
		}
		for _, want := range []string{"ok   pooler", "unsupported startup parameter", "cache_describe", "the job queue polls"} {
			if !strings.Contains(doc.stdout.String(), want) {
				t.Errorf("doctor output lacks %q:\n%s", want, doc.stdout.String())
			}
		}
	}
	if after.DB.MaxConns != budget {
		t.Errorf("/api/stats db.max_conns = %d, want %d (SHOEBOX_DB_MAX_CONNS)", after.DB.MaxConns, budget)
	}
	if !s.running() {
		t.Fatalf("shoebox serve died: %v", s.err)
	}
}
