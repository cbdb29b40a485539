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
)

// TestOriginGalleryWithinBudget is the incident Shoebox exists to beat: a
// gallery of 50 thumbnails that opened 50 database connections and died
// with "too many clients". On a server with max_connections=20 and a budget
// of 8, the gallery, its 50 thumbnails 20 times over, and then a burst of
// 500 concurrent mixed requests must all answer 200 while the server never
// holds more than 8 connections (sampled from pg_stat_activity throughout,
// indexing included).
func TestOriginGalleryWithinBudget(t *testing.T) { originScenario(t, false) }

// TestOriginSignedIn is the same incident with an account and a signed-in
// browser: authenticating pages (a bounded session cache, one statement a
// second at most) and media (a signed grant, no SQL) keeps every answer 200
// within the same budget of 8 connections.
func TestOriginSignedIn(t *testing.T) { originScenario(t, true) }

func originScenario(t *testing.T, signedIn bool) {
	const budget = 8
	cluster, dbURL := startCluster(t, map[string]string{"max_connections": "20"})
	lib, files := makeLibrary(t, 64, 0)
	if signedIn {
		addUser(t, dbURL, "anna", annaPassword, true)
	}

	mon := monitorConns(t, pgConnect(t, cluster.URL("postgres")))
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
	t.Logf("requests: %d (all 200: %v); pg_stat_activity samples: %d (errors %d), max shoebox connections: %d (budget %d); pool: %+v",
		total, len(failures) == 0, samples, errs, max, budget, after.DB)
	if samples < 10 {
		t.Fatalf("only %d connection samples (errors %d, last %v): the budget was not observed", samples, errs, lastErr)
	}
	if max == 0 {
		t.Fatalf("never saw a connection with application_name 'shoebox': the check is blind")
	}
	if max > budget {
		t.Errorf("shoebox held %d connections at once, over its budget of %d", max, budget)
	}
	if after.DB.MaxConns != budget {
		t.Errorf("/api/stats db.max_conns = %d, want %d (SHOEBOX_DB_MAX_CONNS)", after.DB.MaxConns, budget)
	}
	if !s.running() {
		t.Fatalf("shoebox serve died: %v", s.err)
	}
}
