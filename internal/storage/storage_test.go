package storage_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/jobs"
	"shoebox/internal/storage"
)

// Every test here runs inside its own transaction (dbtest.Storage), rolled
// back at its end, so they run in parallel on one migrated database.

func TestMain(m *testing.M) { dbtest.Main(m) }

// newID is a fresh photo id: parallel transactions never insert the same
// key (they would wait on each other).
func newID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// addPhoto saves a scanned file holding a new photo at rel in library lib,
// and marks it ready, taken at taken.
func addPhoto(t *testing.T, st *storage.Storage, lib int, rel string, taken time.Time) string {
	t.Helper()
	ctx := context.Background()
	id := newID(t)
	hash, _ := hex.DecodeString(id)
	if _, err := st.SaveScanned(ctx, lib, []storage.ScannedFile{{RelPath: rel, Size: 10, MTime: taken, PhotoID: id, Hash: hash}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SavePhotoResult(ctx, id, storage.PhotoResult{Format: "jpeg", Width: 40, Height: 30,
		ThumbWidth: 4, ThumbHeight: 3, TakenAt: taken, Make: "Canon"}); err != nil {
		t.Fatal(err)
	}
	return id
}

func newLibrary(t *testing.T, st *storage.Storage) int {
	t.Helper()
	lib, err := st.EnsureLibrary(context.Background(), "/lib/"+newID(t))
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

// Tx commits what fn did when it returns nil and undoes all of it when it
// fails; inside a transaction, a nested Tx is a savepoint.
func TestTxCommitsOrRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib := newLibrary(t, st)
	boom := errors.New("boom")
	var lost string
	err := st.Tx(ctx, func(tx *storage.Storage) error {
		lost = addPhoto(t, tx, lib, "lost.jpg", time.Now())
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want fn's error", err)
	}
	if _, err := st.Photo(ctx, storage.Scope{}, lost); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("photo of a failed Tx: %v, want ErrNotFound", err)
	}
	var kept string
	if err := st.Tx(ctx, func(tx *storage.Storage) error {
		kept = addPhoto(t, tx, lib, "kept.jpg", time.Now())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if p, err := st.Photo(ctx, storage.Scope{}, kept); err != nil || p.Path != "kept.jpg" {
		t.Fatalf("photo of a committed Tx: %+v %v", p, err)
	}
}

// Pages follow each other without gap or repeat, newest first, and the
// summary carries the first path of the photo.
func TestListPhotosPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib := newLibrary(t, st)
	base := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	want := map[string]string{}
	for i := range 7 {
		rel := "trip/" + string(rune('a'+i)) + ".jpg"
		want[addPhoto(t, st, lib, rel, base.Add(time.Duration(i%3)*time.Hour))] = rel
	}
	seen := map[string]bool{}
	var (
		after *storage.Cursor
		last  storage.PhotoSummary
	)
	for pages := 0; ; pages++ {
		if pages > 4 {
			t.Fatal("more pages than photos")
		}
		ps, next, err := st.ListPhotos(ctx, storage.ListParams{After: after, Limit: 3, Terms: []string{"trip"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if seen[p.ID] {
				t.Fatalf("photo %s on two pages", p.ID)
			}
			seen[p.ID] = true
			if want[p.ID] != p.Path || p.Width != 40 || p.ThumbHeight != 3 {
				t.Fatalf("summary %+v, want path %q 40 wide", p, want[p.ID])
			}
			if last.ID != "" && (p.TakenAt.After(last.TakenAt) || p.TakenAt.Equal(last.TakenAt) && p.ID > last.ID) {
				t.Fatalf("%v/%s after %v/%s: not newest first", p.TakenAt, p.ID, last.TakenAt, last.ID)
			}
			last = p
		}
		if next == nil {
			break
		}
		after = next
	}
	if len(seen) != len(want) {
		t.Fatalf("listed %d photos, want %d", len(seen), len(want))
	}
	s, err := st.Stats(ctx, storage.Scope{})
	if err != nil || s.Photos != 7 || s.ByYear["2019"] != 7 || len(s.Cameras) != 1 || s.Cameras[0] != (storage.CameraCount{Make: "Canon", Photos: 7}) {
		t.Fatalf("stats %+v %v, want 7 photos of 2019 by Canon", s, err)
	}
	ps, _, err := st.ListPhotos(ctx, storage.ListParams{Terms: []string{"nowhere-" + newID(t)}})
	if err != nil || len(ps) != 0 {
		t.Fatalf("search for an absent word: %d photos, %v", len(ps), err)
	}
}

// A search by words lists the same pages, newest first, whether its
// matches are among the newest photos (found by looking at those first)
// or far behind them (found through the trigram index): 10,100 photos of
// 2100 all hold one word, every thousandth and 70 photos of 2090 another.
func TestSearchFindsMatchesFarBehindTheNewest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	prefix, common, rare := newID(t)[:16], "common"+newID(t)[:8], "rare"+newID(t)[:8]
	const newer, older = 10100, 70
	if _, err := tx.Exec(ctx, `INSERT INTO photos (id, hash, size, state, taken_at, search_text)
		SELECT $1::text || i, decode(md5($1::text || i), 'hex'), 1, 'ready',
			CASE WHEN i < $4::int THEN timestamptz '2100-01-01 00:00Z' + i * interval '1 minute'
				ELSE timestamptz '2090-01-01 00:00Z' + i * interval '1 second' END,
			CASE WHEN i >= $4::int THEN $3::text WHEN i % 1000 = 0 THEN $2::text || ' ' || $3::text ELSE $2::text END
		FROM generate_series(0, $4::int + $5::int - 1) i`, prefix, common, rare, newer, older); err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return prefix + strconv.Itoa(i) }
	var wantRare []string
	for i := newer - 100; i >= 0; i -= 1000 {
		wantRare = append(wantRare, id(i))
	}
	for i := newer + older - 1; i >= newer; i-- {
		wantRare = append(wantRare, id(i))
	}
	var wantCommon []string
	for i := newer - 1; i >= newer-120; i-- {
		wantCommon = append(wantCommon, id(i))
	}
	for _, c := range []struct {
		word string
		want []string
	}{{rare, wantRare}, {common, wantCommon}} {
		var got []string
		var after *storage.Cursor
		for len(got) < len(c.want) {
			ps, next, err := st.ListPhotos(ctx, storage.ListParams{After: after, Limit: 50, Terms: []string{c.word}})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ids(ps)...)
			if after = next; next == nil {
				break
			}
		}
		if len(got) < len(c.want) || !slices.Equal(got[:len(c.want)], c.want) || c.word == rare && len(got) != len(c.want) {
			t.Fatalf("%s: listed %d photos %v...\nwant %d %v...", c.word[:4], len(got), got[:min(len(got), 15)], len(c.want), c.want[:15])
		}
	}
}

// Removing the last file of a photo makes it an orphan; deleting orphans
// deletes their pending jobs only when asked, in the same transaction.
func TestRemoveFilesAndOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	lib := newLibrary(t, st)
	id := addPhoto(t, st, lib, "a.jpg", time.Now())
	keep := addPhoto(t, st, lib, "b.jpg", time.Now())
	kind := jobs.KindProcess
	if err := st.Enqueue(ctx, jobs.ProcessJob(id), jobs.ProcessJob(keep)); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveFiles(ctx, lib, []string{"a.jpg"}); err != nil {
		t.Fatal(err)
	}
	files, err := st.LibraryFiles(ctx, lib)
	if err != nil || len(files) != 1 || files["b.jpg"].PhotoID != keep {
		t.Fatalf("files after removal: %+v %v", files, err)
	}
	var orphans []string
	err = st.Tx(ctx, func(tx *storage.Storage) error {
		var err error
		if orphans, err = tx.DeleteOrphanPhotos(ctx); err != nil {
			return err
		}
		return tx.DeletePendingJobs(ctx, []string{kind}, orphans)
	})
	if err != nil || len(orphans) != 1 || orphans[0] != id {
		t.Fatalf("orphans %v %v, want [%s]", orphans, err, id)
	}
	if left := jobKeys(t, tx, kind); len(left) != 1 || left[0] != keep {
		t.Fatalf("jobs left %v, want only %s's", left, keep)
	}
}

// A file that could not be read is recorded with its reason, counted as a
// failure, and holds no photo.
func TestFailedFileIsAFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib := newLibrary(t, st)
	newIDs, err := st.SaveScanned(ctx, lib, []storage.ScannedFile{{RelPath: "bad.jpg", MTime: time.Now(), Error: "unreadable"}})
	if err != nil || len(newIDs) != 0 {
		t.Fatalf("new photos %v %v, want none", newIDs, err)
	}
	fails, err := st.Failures(ctx, storage.Scope{}, 10)
	if err != nil || len(fails) != 1 || fails[0].RelPath != "bad.jpg" || fails[0].Reason != "unreadable" {
		t.Fatalf("failures %+v %v", fails, err)
	}
	s, err := st.Stats(ctx, storage.Scope{})
	if err != nil || s.Files != 1 || s.Photos != 0 || s.Queue.Failed != 1 {
		t.Fatalf("stats %+v %v", s, err)
	}
}

// Duplicate groups come back largest first, each as summaries; replacing
// them leaves only the new groups.
func TestDuplicateGroups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib := newLibrary(t, st)
	now := time.Now()
	a, b, c := addPhoto(t, st, lib, "a.jpg", now), addPhoto(t, st, lib, "b.jpg", now), addPhoto(t, st, lib, "c.jpg", now)
	d, e := addPhoto(t, st, lib, "d.jpg", now), addPhoto(t, st, lib, "e.jpg", now)
	if err := st.ReplaceDuplicateGroups(ctx, "old", [][]string{{a, e}}); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceDuplicateGroups(ctx, "m", [][]string{{d, e}, {a, b, c}}); err != nil {
		t.Fatal(err)
	}
	groups, err := st.DuplicateGroups(ctx, storage.Scope{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || len(groups[0]) != 3 || len(groups[1]) != 2 {
		t.Fatalf("groups %v, want sizes 3 then 2", groups)
	}
	if groups[1][0].Path == "" || groups[1][0].Width != 40 {
		t.Fatalf("group member %+v lacks its summary", groups[1][0])
	}
}

// Tags: replaced per photo, counted per label.
func TestTags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib := newLibrary(t, st)
	a, b := addPhoto(t, st, lib, "a.jpg", time.Now()), addPhoto(t, st, lib, "b.jpg", time.Now())
	if err := st.SaveTags(ctx, "m", map[string][]storage.Tag{a: {{"dog", 0.9}, {"cat", 0.2}}, b: {{"dog", 0.5}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveTags(ctx, "m", map[string][]storage.Tag{a: {{"dog", 0.8}}}); err != nil {
		t.Fatal(err)
	}
	counts, err := st.TagCounts(ctx, storage.Scope{}, 10)
	if err != nil || counts["dog"] != 2 || counts["cat"] != 0 {
		t.Fatalf("tag counts %v %v, want dog 2 and no cat", counts, err)
	}
	p, err := st.Photo(ctx, storage.Scope{}, a)
	if err != nil || len(p.Tags) != 1 || p.Tags[0].Label != "dog" {
		t.Fatalf("tags of a %+v %v", p.Tags, err)
	}
}
