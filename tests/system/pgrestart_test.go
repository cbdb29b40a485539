package system

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEmbeddedPostgresRestarts SIGKILLs the embedded PostgreSQL under a
// running `shoebox serve`: shoebox starts it again by itself and pages
// answer 200 again. The death is logged once at ERROR, and the warnings of
// the outage (readiness, shed requests, workers) are not a flood.
func TestEmbeddedPostgresRestarts(t *testing.T) {
	lib, _ := makeLibrary(t, 4, 0)
	dataDir, cluster := embeddedDataDir(t)
	s := startServe(t, serveOpts{library: lib, dataDir: dataDir})
	st := s.waitIndexed(t, 2*time.Minute)
	s.mustGet(t, "/", 200)

	pidFile := filepath.Join(cluster.DataDir(), "postmaster.pid")
	postmaster := func() int {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return 0
		}
		first, _, _ := strings.Cut(string(b), "\n")
		pid, _ := strconv.Atoi(strings.TrimSpace(first))
		return pid
	}
	old := postmaster()
	if old <= 0 {
		t.Fatalf("no postmaster pid in %s", pidFile)
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", old, err)
	}
	killed := time.Now()
	t.Logf("killed the postmaster (pid %d)", old)

	// Keep asking while it is down (each 503 may log a warning), until the
	// pages answer again.
	deadline := killed.Add(2 * time.Minute)
	down := 0
	for {
		c1, _, _, e1 := s.get("/")
		c2, _, _, e2 := s.get("/readyz")
		if e1 == nil && e2 == nil && c1 == 200 && c2 == 200 && postmaster() != old && postmaster() > 0 {
			break
		}
		if c1 != 200 || c2 != 200 {
			down++
		}
		if c1 == 500 || c2 == 500 {
			t.Errorf("500 while PostgreSQL restarts (/ %d, /readyz %d)", c1, c2)
		}
		if !s.running() {
			t.Fatalf("shoebox serve died with its PostgreSQL: %v", s.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("pages not back 2 minutes after the kill: / %d %v, /readyz %d %v", c1, e1, c2, e2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(killed)
	t.Logf("back %s after the kill (%d answers not 200 meanwhile), new postmaster pid %d", took.Round(time.Millisecond), down, postmaster())
	for _, p := range []string{"/stats", "/api/photos", "/search?q=jpg"} {
		s.mustGet(t, p, 200)
	}
	if got := s.stats(t).Photos; got != st.Photos {
		t.Errorf("after the restart /api/stats says %d photos, before %d", got, st.Photos)
	}

	time.Sleep(2 * time.Second) // let the last lines of the outage be written
	log := s.stderr.String()
	if n := strings.Count(log, `level=ERROR msg="embedded PostgreSQL is not running; restarting it"`); n != 1 {
		t.Errorf("the death is logged %d times at ERROR, want once:\n%s", n, tail(log, 4000))
	}
	if !strings.Contains(log, `msg="embedded PostgreSQL restarted"`) {
		t.Errorf("no line says PostgreSQL was restarted:\n%s", tail(log, 4000))
	}
	// One line per warning message per 30 s at most.
	since := time.Since(killed)
	allowed := 1 + int(since/(30*time.Second))
	perMsg := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)level=WARN msg=("[^"]*"|\S+)`).FindAllStringSubmatch(log, -1) {
		perMsg[m[1]]++
	}
	for msg, n := range perMsg {
		if n > allowed+1 { // +1: the same message before the kill
			t.Errorf("warning %s logged %d times in %s: a flood", msg, n, since.Round(time.Second))
		}
	}
	t.Logf("warnings by message: %v", perMsg)
}
