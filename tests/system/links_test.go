package system

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLibraryLinks runs `shoebox index` on a library holding a symlink to
// the data folder and one to a folder elsewhere. The data folder is never
// indexed (its thumbnails would become photos, more on every rescan); the
// outside folder is followed by default and skipped with --stay-inside;
// doctor names the outside links either way.
func TestLibraryLinks(t *testing.T) {
	lib, files := makeLibrary(t, 2, 0)
	other, _ := makeLibrary(t, 1, 2)
	_, dbURL := startCluster(t, nil)
	dataDir := t.TempDir()
	for link, target := range map[string]string{"backup": dataDir, "elsewhere": other} {
		if err := os.Symlink(target, filepath.Join(lib, link)); err != nil {
			t.Fatal(err)
		}
	}
	env := shoeboxEnv("DATABASE_URL=" + dbURL)
	conn := pgConnect(t, dbURL)
	index := func(extra ...string) string {
		t.Helper()
		p := startProc(t, "shoebox index", env, append([]string{shoeboxBin, "index", "--library", lib, "--data", dataDir}, extra...)...)
		if err := p.wait(t, 3*time.Minute); err != nil {
			t.Fatalf("index %v: %v\n%s", extra, err, tail(p.stderr.String(), 3000))
		}
		m := regexp.MustCompile(`(?m)^indexed \d+, unchanged \d+, failed \d+$`).FindString(p.stdout.String())
		photos := queryInt(t, conn, `SELECT count(*) FROM photos`)
		inData := queryInt(t, conn, `SELECT count(*) FROM files WHERE rel_path LIKE 'backup/%'`)
		t.Logf("index %v: %s; %d photos", extra, m, photos)
		if inData != 0 {
			t.Fatalf("index %v recorded %d files from the data folder", extra, inData)
		}
		return m
	}
	doctor := func(extra ...string) string {
		t.Helper()
		p := startProc(t, "shoebox doctor", env, append([]string{shoeboxBin, "doctor", "--library", lib, "--data", dataDir}, extra...)...)
		if err := p.wait(t, time.Minute); err != nil {
			t.Fatalf("doctor: %v\n%s%s", err, p.stdout.String(), p.stderr.String())
		}
		return p.stdout.String()
	}

	index()
	if n := queryInt(t, conn, `SELECT count(*) FROM photos`); n != len(files)+1 {
		t.Fatalf("%d photos after the first index, want %d (the library's and the one linked from elsewhere)", n, len(files)+1)
	}
	// A second scan, now that the data folder holds thumbnails: the same photos.
	index()
	if n := queryInt(t, conn, `SELECT count(*) FROM photos`); n != len(files)+1 {
		t.Fatalf("%d photos after the second index, want %d: the data folder was indexed", n, len(files)+1)
	}
	thumbs, _ := filepath.Glob(filepath.Join(dataDir, "media", "*", "*.thumb.webp"))
	if len(thumbs) == 0 {
		t.Fatal("no thumbnails in the data folder: the test proves nothing")
	}

	out := doctor()
	if !strings.Contains(out, "2 symlink(s) lead outside, followed") || !strings.Contains(out, "backup") || !strings.Contains(out, "elsewhere") {
		t.Fatalf("doctor does not name the outside links:\n%s", out)
	}

	// Staying inside: the linked folder's photo goes, the library's stay.
	index("--stay-inside")
	if n := queryInt(t, conn, `SELECT count(*) FROM photos`); n != len(files) {
		t.Fatalf("%d photos with --stay-inside, want the library's %d", n, len(files))
	}
	if n := queryInt(t, conn, `SELECT count(*) FROM files WHERE rel_path LIKE 'elsewhere/%'`); n != 0 {
		t.Fatalf("%d files from outside the library still recorded with --stay-inside", n)
	}
	out = doctor("--stay-inside")
	if !strings.Contains(out, "2 symlink(s) lead outside, skipped") {
		t.Fatalf("doctor with --stay-inside:\n%s", out)
	}
}
