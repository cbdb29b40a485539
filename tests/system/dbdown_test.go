package system

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDatabaseDown stops PostgreSQL under a running, indexed shoebox:
// images (files named by id, no SQL) keep answering 200, pages that need
// the database answer 503 with Retry-After promptly (never a 500, never a
// hang), /readyz says 503 and /healthz 200; when PostgreSQL comes back the
// same process recovers on its own.
//
// Run twice: a clean stop (pg_ctl -m fast) and a crash (-m immediate).
func TestDatabaseDown(t *testing.T) {
	t.Run("stop", func(t *testing.T) { testDatabaseDown(t, false) })
	t.Run("crash", func(t *testing.T) { testDatabaseDown(t, true) })
}

func testDatabaseDown(t *testing.T, crash bool) {
	cluster, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 12, 0)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 8})
	st := s.waitIndexed(t, 2*time.Minute)
	list := s.photos(t)
	if len(list.Photos) == 0 || len(list.Photos) != st.Photos {
		t.Fatalf("/api/photos lists %d photos, /api/stats says %d", len(list.Photos), st.Photos)
	}
	id := list.Photos[0].ID
	s.mustGet(t, "/", 200)
	s.mustGet(t, "/readyz", 200)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stop := cluster.Stop
	if crash {
		stop = cluster.Kill
	}
	if err := stop(ctx); err != nil {
		t.Fatalf("stop cluster: %v", err)
	}
	if cluster.Running(ctx) {
		t.Fatal("cluster still running after Stop")
	}
	t.Log("PostgreSQL stopped")

	// No SQL behind images: they keep working.
	for _, p := range []string{"/thumbnail/" + id + "?v=1", "/preview/" + id + "?v=1", "/original/" + id} {
		_, b := s.mustGet(t, p, 200)
		if len(b) == 0 {
			t.Errorf("GET %s: 200 with an empty body", p)
		}
	}
	_, b := s.mustGet(t, "/thumbnail/"+id+"?v=1", 200)
	if !isWebP(b) {
		t.Errorf("thumbnail is not WebP while the database is down")
	}

	// Pages that need the database: 503 + Retry-After, each answer within
	// the 5 s acquire deadline (plus margin). A page the server served just
	// before the stop may still come from its short-lived page cache (200,
	// the same bytes); 503 must follow within the bound. Then a second round
	// of plain 503s.
	const bound = 10 * time.Second
	stopped := time.Now()
	pages := []string{"/", "/search?q=jpg", "/photo/" + id, "/stats", "/api/photos", "/api/stats"}
	check := func(p string, allowCached bool) {
		for {
			t0 := time.Now()
			code, h, body, err := s.get(p)
			d := time.Since(t0)
			if err != nil {
				t.Fatalf("GET %s with the database down: %v (after %s)", p, err, d)
			}
			if d > bound {
				t.Errorf("GET %s took %s to answer with the database down (acquire deadline is 5s)", p, d)
			}
			if code == 200 && allowCached {
				t.Logf("database down: GET %s -> 200 (page cache) %s after the stop", p, time.Since(stopped).Round(time.Millisecond))
				if time.Since(stopped) > bound {
					t.Errorf("GET %s still 200 %s after the database stopped: a cache that never expires?", p, time.Since(stopped).Round(time.Millisecond))
					return
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			t.Logf("database down: GET %s -> %d in %s (Retry-After %q)", p, code, d.Round(time.Millisecond), h.Get("Retry-After"))
			if code != 503 {
				t.Errorf("GET %s with the database down: status %d, want 503; body %s", p, code, tail(string(body), 300))
			}
			if h.Get("Retry-After") == "" {
				t.Errorf("GET %s: 503 without Retry-After", p)
			}
			if strings.Contains(string(body), "postgres") || strings.Contains(string(body), ".s.PGSQL") {
				t.Errorf("GET %s: the error page leaks database details: %s", p, tail(string(body), 300))
			}
			return
		}
	}
	for _, p := range pages {
		check(p, true)
	}
	for _, p := range pages {
		check(p, false)
	}
	t0 := time.Now()
	code, h, _, err := s.get("/readyz")
	if err != nil || code != 503 {
		t.Errorf("/readyz with the database down: %d %v, want 503", code, err)
	} else if h.Get("Retry-After") == "" {
		t.Errorf("/readyz 503 without Retry-After")
	}
	if d := time.Since(t0); d > bound {
		t.Errorf("/readyz took %s", d)
	}
	s.mustGet(t, "/healthz", 200)
	if !s.running() {
		t.Fatalf("shoebox serve died with the database down: %v", s.err)
	}

	// PostgreSQL comes back: the same process recovers.
	if err := cluster.Start(ctx); err != nil {
		t.Fatalf("restart cluster: %v", err)
	}
	restarted := time.Now()
	deadline := restarted.Add(20 * time.Second)
	for {
		c1, _, _, e1 := s.get("/")
		c2, _, _, e2 := s.get("/readyz")
		if e1 == nil && e2 == nil && c1 == 200 && c2 == 200 {
			break
		}
		if c1 == 500 || c2 == 500 {
			t.Errorf("500 while the database restarts (/ %d, /readyz %d)", c1, c2)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not recovered 20s after PostgreSQL restarted: / %d %v, /readyz %d %v", c1, e1, c2, e2)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("recovered %s after PostgreSQL restarted", time.Since(restarted).Round(time.Millisecond))
	for _, p := range []string{"/search?q=jpg", "/photo/" + id, "/stats", "/api/photos", "/api/stats"} {
		s.mustGet(t, p, 200)
	}
	if got := s.stats(t).Photos; got != st.Photos {
		t.Errorf("after the restart /api/stats says %d photos, before %d", got, st.Photos)
	}
}
