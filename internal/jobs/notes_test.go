package jobs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"shoebox/internal/thumbs"
)

// The note behind /original follows the file indexed: a note of an older
// Shoebox (a bare path) gains the file's identity on the next scan, a file
// replaced by the same content under the same name is noted again, and a
// file swapped for a link to something else is no longer the photo.
func TestScanKeepsOriginalNotes(t *testing.T) {
	e := setup(t)
	x := filepath.Join(e.lib, "x.jpg")
	copyFile(t, fixture(t, "noexif/branches_600x400.jpg"), x)
	e.run()
	id := e.photoOf(t, "x.jpg")
	opens := func() error {
		t.Helper()
		f, _, err := e.store.OpenSource(context.Background(), id)
		if err == nil {
			f.Close()
		}
		return err
	}
	if err := opens(); err != nil {
		t.Fatalf("original after indexing: %v", err)
	}

	if err := e.store.Write(id, thumbs.Source, []byte(x)); err != nil { // as an older Shoebox wrote it
		t.Fatal(err)
	}
	if err := opens(); !errors.Is(err, thumbs.ErrUnverified) {
		t.Fatalf("original with an old note: %v, want ErrUnverified", err)
	}
	e.run()
	if err := opens(); err != nil {
		t.Fatalf("original after the scan of an old note: %v", err)
	}

	copyFile(t, fixture(t, "noexif/branches_600x400.jpg"), x+".tmp")
	if err := os.Rename(x+".tmp", x); err != nil {
		t.Fatal(err)
	}
	if err := opens(); !errors.Is(err, thumbs.ErrChanged) {
		t.Fatalf("original replaced by a copy: %v, want ErrChanged", err)
	}
	e.run()
	if err := opens(); err != nil || e.photoOf(t, "x.jpg") != id {
		t.Fatalf("after the scan, the copy is photo %s (was %s) and opens with %v", e.photoOf(t, "x.jpg"), id, err)
	}

	os.Remove(x)
	if err := os.Symlink("/etc/hostname", x); err != nil {
		t.Fatal(err)
	}
	e.run()
	if err := opens(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("original swapped for a link, after the scan: %v, want no note (the photo is gone)", err)
	}
	if n := e.count(t, `SELECT count(*) FROM photos WHERE id = '`+id+`'`); n != 0 {
		t.Fatal("the photo of a file swapped for a link is still there")
	}
}
