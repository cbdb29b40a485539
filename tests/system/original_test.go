package system

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSwappedOriginal replaces an indexed photo with a link to
// /etc/hostname under a running shoebox (periodic rescans off): /original
// answers 404 at once instead of the linked file, and the rescan it asks
// for settles the library (the photo is gone; the other one still served).
// Everything under <data>/media is private to Shoebox's user.
func TestSwappedOriginal(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	lib, files := makeLibrary(t, 2, 0)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 8})
	s.waitIndexed(t, 2*time.Minute)
	ids := map[string]string{} // rel path -> id
	for _, p := range s.photos(t).Photos {
		ids[p.Path] = p.ID
	}
	swapped, kept := ids[files[0].path], ids[files[1].path]
	if swapped == "" || kept == "" {
		t.Fatalf("photos %v, want both of %s and %s", ids, files[0].path, files[1].path)
	}
	want, err := os.ReadFile(filepath.Join(lib, files[0].path))
	if err != nil {
		t.Fatal(err)
	}
	s.mustGet(t, "/api/photos/"+swapped, 200)
	if _, b := s.mustGet(t, "/original/"+swapped, 200); !bytes.Equal(b, want) {
		t.Fatal("/original differs from the file")
	}

	err = filepath.WalkDir(filepath.Join(s.dataDir, "media"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if want := fs.FileMode(0o600); d.IsDir() {
			want = 0o700
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %o, want %o", p, fi.Mode().Perm(), want)
			}
		} else if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %o, want %o", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := os.Remove(filepath.Join(lib, files[0].path)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(lib, files[0].path)); err != nil {
		t.Fatal(err)
	}
	s.mustGet(t, "/original/"+swapped, 404)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, _, _, err := s.get("/api/photos/" + swapped)
		if err == nil && code == 404 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the swapped photo is still listed 2 minutes after /original refused it (%d %v): no rescan?", code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.mustGet(t, "/original/"+swapped, 404)
	if _, b := s.mustGet(t, "/original/"+kept, 200); len(b) == 0 {
		t.Fatal("the other original is empty")
	}
}
