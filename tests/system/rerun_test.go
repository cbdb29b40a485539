package system

import (
	"regexp"
	"testing"
	"time"
)

// TestIndexAgainCountsThisRunOnly runs `shoebox index` on the same 2-file
// library three times back to back. Every later run finds both files as
// they were and says so: its summary counts its own scan, never the
// previous run's (the summary once added up every scan finished in the
// last second, and said "unchanged 4" for 2 files).
func TestIndexAgainCountsThisRunOnly(t *testing.T) {
	lib, files := makeLibrary(t, 2, 0)
	_, dbURL := startCluster(t, nil)
	dataDir := t.TempDir()
	env := shoeboxEnv("DATABASE_URL=" + dbURL)
	summary := regexp.MustCompile(`(?m)^indexed \d+, unchanged \d+, failed \d+$`)
	index := func() string {
		t.Helper()
		p := startProc(t, "shoebox index", env, shoeboxBin, "index", "--library", lib, "--data", dataDir)
		if err := p.wait(t, 3*time.Minute); err != nil {
			t.Fatalf("index: %v\n%s", err, tail(p.stderr.String(), 3000))
		}
		return summary.FindString(p.stdout.String())
	}
	if got := index(); got != "indexed 2, unchanged 0, failed 0" {
		t.Fatalf("first run of %d files: %q", len(files), got)
	}
	for run := 2; run <= 3; run++ {
		if got := index(); got != "indexed 0, unchanged 2, failed 0" {
			t.Fatalf("run %d of the same %d files: %q, want %q", run, len(files), got, "indexed 0, unchanged 2, failed 0")
		}
	}
}
