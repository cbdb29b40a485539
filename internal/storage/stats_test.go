package storage_test

import (
	"context"
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

// Stats reads counters kept by triggers (migration 017); StatsByCounting
// counts the tables. Through every kind of change a library goes through,
// in every kind of scope, they must agree exactly.
func TestStatsCountersAgreeWithCounting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	libA, libB := newLibrary(t, st), newLibrary(t, st)
	u1, err := st.AddUser(ctx, "c1-"+newID(t)[:12], "x", false)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := st.AddUser(ctx, "c2-"+newID(t)[:12], "x", false)
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]storage.Scope{
		"everything":          {},
		"A as u1":             storage.Only([]int32{int32(libA)}).As(u1),
		"A and B as u1":       storage.Only([]int32{int32(libA), int32(libB)}).As(u1),
		"B as u2":             storage.Only([]int32{int32(libB)}).As(u2),
		"A, no one signed in": storage.Only([]int32{int32(libA)}),
	}
	step := "start"
	check := func() {
		t.Helper()
		for name, sc := range scopes {
			got, err := st.Stats(ctx, sc)
			if err != nil {
				t.Fatalf("%s, %s: Stats: %v", step, name, err)
			}
			want, err := st.StatsByCounting(ctx, sc)
			if err != nil {
				t.Fatalf("%s, %s: StatsByCounting: %v", step, name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, %s:\ncounters %+v\ncounting %+v", step, name, *got, *want)
			}
			gotMonths, err := st.MonthCounts(ctx, sc)
			if err != nil {
				t.Fatalf("%s, %s: MonthCounts: %v", step, name, err)
			}
			wantMonths, err := st.MonthCountsByCounting(ctx, sc)
			if err != nil {
				t.Fatalf("%s, %s: MonthCountsByCounting: %v", step, name, err)
			}
			if !reflect.DeepEqual(gotMonths, wantMonths) {
				t.Fatalf("%s, %s: months:\ncounters %v\ncounting %v", step, name, gotMonths, wantMonths)
			}
			gotTags, err := st.TagCounts(ctx, sc, 50)
			if err != nil {
				t.Fatalf("%s, %s: TagCounts: %v", step, name, err)
			}
			wantTags, err := st.TagCountsByCounting(ctx, sc, 50)
			if err != nil {
				t.Fatalf("%s, %s: TagCountsByCounting: %v", step, name, err)
			}
			if !reflect.DeepEqual(gotTags, wantTags) {
				t.Fatalf("%s, %s: tags:\ncounters %v\ncounting %v", step, name, gotTags, wantTags)
			}
		}
	}
	tag := func(id string, labels ...string) {
		t.Helper()
		var ts []storage.Tag
		for _, l := range labels {
			ts = append(ts, storage.Tag{Label: l, Score: 0.3})
		}
		if err := st.SaveTags(ctx, "m", map[string][]storage.Tag{id: ts}); err != nil {
			t.Fatal(err)
		}
	}
	save := func(lib int, rel, id string) {
		t.Helper()
		hash, _ := hex.DecodeString(id)
		if _, err := st.SaveScanned(ctx, lib, []storage.ScannedFile{{RelPath: rel, Size: 10, MTime: time.Now(), PhotoID: id, Hash: hash}}); err != nil {
			t.Fatal(err)
		}
	}
	ready := func(id string, r storage.PhotoResult) {
		t.Helper()
		r.Format, r.Width, r.Height, r.ThumbWidth, r.ThumbHeight = "jpeg", 40, 30, 4, 3
		if err := st.SavePhotoResult(ctx, id, r); err != nil {
			t.Fatal(err)
		}
	}
	check()

	step = "photos indexed"
	d2019 := time.Date(2019, 7, 14, 10, 0, 0, 0, time.UTC)
	d2024 := time.Date(2024, 12, 31, 23, 30, 0, 0, time.UTC)
	p1 := addPhoto(t, st, libA, "a/1.jpg", d2019)
	p2 := addPhoto(t, st, libA, "a/2.jpg", d2024)
	p3 := newID(t)
	save(libA, "a/3.jpg", p3)
	ready(p3, storage.PhotoResult{TakenAt: d2019, Make: "Apple", Model: "iPhone 8", Damage: "Premature end of JPEG file"})
	p4 := newID(t)
	save(libA, "a/4.jpg", p4)
	ready(p4, storage.PhotoResult{TakenAt: d2024}) // no camera
	p5 := addPhoto(t, st, libB, "b/5.jpg", d2024)
	pending := newID(t)
	save(libA, "a/pending.jpg", pending)
	if _, err := st.SaveScanned(ctx, libA, []storage.ScannedFile{{RelPath: "a/broken.jpg", Size: 1, MTime: time.Now(), Error: "unreadable"}}); err != nil {
		t.Fatal(err)
	}
	check()

	step = "tagged"
	tag(p1, "beach", "dog")
	tag(p2, "beach")
	tag(p5, "dog", "cat")
	tag(pending, "beach")
	check()

	step = "a photo in both libraries"
	p6 := addPhoto(t, st, libA, "a/6.jpg", d2019)
	hash6, _ := hex.DecodeString(p6)
	if _, err := st.SaveScanned(ctx, libB, []storage.ScannedFile{{RelPath: "b/copy of 6.jpg", Size: 10, MTime: time.Now(), PhotoID: p6, Hash: hash6}}); err != nil {
		t.Fatal(err)
	}
	tag(p6, "cat")
	check()

	step = "one of its files gone"
	if err := st.RemoveFiles(ctx, libA, []string{"a/6.jpg"}); err != nil {
		t.Fatal(err)
	}
	check()

	step = "trashed and archived by u1"
	if _, err := st.SetStates(ctx, scopes["A as u1"], []string{p1}, storage.StatePatch{Trashed: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetStates(ctx, scopes["A as u1"], []string{p2}, storage.StatePatch{Archived: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	check()

	step = "an album of u2 shows a photo of A"
	album, err := st.CreateAlbum(ctx, u2, "holiday", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddToAlbum(ctx, storage.Scope{}.As(u2), album, []string{p2, p5, p6}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetStates(ctx, scopes["B as u2"], []string{p5}, storage.StatePatch{Trashed: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	check()

	step = "metadata read again, a photo failing, a pending one ready"
	ready(p2, storage.PhotoResult{TakenAt: d2019, Make: "Canon", Model: "EOS 600D"})
	if err := st.FailPhoto(ctx, p4, "gone bad"); err != nil {
		t.Fatal(err)
	}
	ready(pending, storage.PhotoResult{TakenAt: d2024, Make: "Apple", Model: "iPhone 8"})
	check()

	step = "tags given again"
	tag(p1, "sea")
	tag(p6, "dog", "cat", "sea")
	check()

	step = "a Live Photo: its movie leaves the timeline"
	still, movie := newID(t), newID(t)
	save(libA, "a/IMG_9.HEIC", still)
	save(libA, "a/IMG_9.MOV", movie)
	ready(movie, storage.PhotoResult{TakenAt: d2024, Make: "Apple", ContentID: "live-1", Video: &storage.VideoResult{Duration: 2, VideoCodec: "hevc"}})
	ready(still, storage.PhotoResult{TakenAt: d2024, Make: "Apple", ContentID: "live-1"})
	var paired string
	if err := tx.QueryRow(ctx, `SELECT coalesce(live_video, '') FROM photos WHERE id = $1`, still).Scan(&paired); err != nil || paired != movie {
		t.Fatalf("the still is paired with %q (%v), want the movie", paired, err)
	}
	check()

	step = "the deltas folded"
	if _, err := tx.Exec(ctx, `SELECT counters_compact()`); err != nil {
		t.Fatal(err)
	}
	check()

	step = "restored from the trash"
	if _, err := st.SetStates(ctx, scopes["A as u1"], []string{p1}, storage.StatePatch{Trashed: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	check()

	step = "a file pointed at another photo"
	if _, err := tx.Exec(ctx, `UPDATE files SET photo_id = $1 WHERE library_id = $2 AND rel_path = 'a/3.jpg'`, p5, libA); err != nil {
		t.Fatal(err)
	}
	check()

	step = "a photo deleted"
	if _, err := tx.Exec(ctx, `DELETE FROM photos WHERE id = $1`, p3); err != nil {
		t.Fatal(err)
	}
	check()

	step = "counters rebuilt from the tables"
	before, _ := st.Stats(ctx, scopes["A and B as u1"])
	if err := st.RebuildCounters(ctx); err != nil {
		t.Fatal(err)
	}
	after, _ := st.Stats(ctx, scopes["A and B as u1"])
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("rebuilt counters differ:\nbefore %+v\nafter  %+v", *before, *after)
	}
	check()

	step = "library B removed"
	if _, err := tx.Exec(ctx, `DELETE FROM libraries WHERE id = $1`, libB); err != nil {
		t.Fatal(err)
	}
	check()
	got, _ := st.Stats(ctx, scopes["A as u1"])
	if tags, _ := st.TagCounts(ctx, scopes["A as u1"], 50); len(tags) == 0 {
		t.Fatal("no tags counted at the end")
	}
	if got.Photos == 0 || got.Files == 0 || got.Queue.Failed == 0 || len(got.Cameras) == 0 || got.Damaged != 0 {
		t.Fatalf("A as u1 at the end: %+v (want photos, files, failures, cameras)", *got)
	}
}

func ptr[T any](v T) *T { return &v }
