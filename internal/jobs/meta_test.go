package jobs_test

import (
	"context"
	"path/filepath"
	"testing"

	"shoebox/internal/database"
	"shoebox/internal/media"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// A library indexed by an older metadata reader is read again on the next
// scan, though no file changed: a row as the old reader left it (f/4.5 cut
// to 4, 23.33 mm to 23, no exposure seconds) comes back exact.
func TestRescanRereadsOlderMetadata(t *testing.T) {
	e := setup(t)
	copyFile(t, fixture(t, "gps/nikon_d2h_gps.jpg"), filepath.Join(e.lib, "b.jpg"))
	e.run()
	id := e.photoOf(t, "b.jpg")
	ctx := context.Background()
	p, err := e.st.Photo(ctx, storage.Scope{}, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.FNumber != 4.5 || p.FocalLength != 23.33 || p.Exposure != "1/125" || p.ExposureSec != 0.008 {
		t.Fatalf("first index: f/%v %v mm %s (%v s)", p.FNumber, p.FocalLength, p.Exposure, p.ExposureSec)
	}
	if n := e.count(t, `SELECT meta_version FROM photos`); n != media.MetaVersion {
		t.Fatalf("meta_version %d, want %d", n, media.MetaVersion)
	}
	thumbBefore := e.store.Path(id, thumbs.Thumb)
	err = e.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE photos SET fnumber = 4, focal_length = 23, exposure_time = NULL, meta_version = 0`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	p, err = e.st.Photo(ctx, storage.Scope{}, id)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != "ready" || p.FNumber != 4.5 || p.FocalLength != 23.33 || p.ExposureSec != 0.008 {
		t.Fatalf("after rescan: %s f/%v %v mm (%v s)", p.State, p.FNumber, p.FocalLength, p.ExposureSec)
	}
	if n := e.count(t, `SELECT meta_version FROM photos`); n != media.MetaVersion {
		t.Fatalf("meta_version %d after rescan", n)
	}
	if !exists(thumbBefore) {
		t.Fatal("thumbnail gone after re-reading metadata")
	}
	// Up to date: a further scan queues nothing.
	before := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'process'`)
	e.run()
	if after := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'process'`); after != before {
		t.Fatalf("process jobs %d -> %d on an up-to-date library", before, after)
	}
}
