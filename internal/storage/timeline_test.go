package storage_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

// The scrubber's month counts: newest month first, by the wall clock the
// photo was taken at (a photo at 23:30 on 30 June is June's, whatever its
// zone), only ready photos, only the scope's libraries; and Before lists a
// month from its end.
func TestMonthCountsAndBefore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	l1, l2 := newLibrary(t, st), newLibrary(t, st)
	at := func(y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, time.FixedZone("", 10*3600)) // the zone is not the month's
	}
	june := []string{
		addPhoto(t, st, l1, "a.jpg", at(2019, 6, 30, 23, 30)),
		addPhoto(t, st, l1, "b.jpg", at(2019, 6, 1, 0, 0)),
	}
	addPhoto(t, st, l1, "c.jpg", at(2019, 7, 1, 0, 0))
	addPhoto(t, st, l1, "d.jpg", at(2018, 12, 31, 12, 0))
	addPhoto(t, st, l2, "e.jpg", at(2019, 6, 15, 12, 0)) // another library's
	addPhoto(t, st, l2, "f.jpg", at(2020, 1, 2, 12, 0))
	if _, err := st.SaveScanned(ctx, l1, []storage.ScannedFile{{RelPath: "pending.jpg", Size: 1, MTime: time.Now(), PhotoID: newID(t), Hash: []byte{1}}}); err != nil {
		t.Fatal(err)
	}

	mine := storage.Only([]int32{int32(l1)})
	got, err := st.MonthCounts(ctx, mine)
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.MonthCount{{2019, 7, 1}, {2019, 6, 2}, {2018, 12, 1}}
	if !slices.Equal(got, want) {
		t.Fatalf("month counts in l1's scope: %v, want %v", got, want)
	}
	all, err := st.MonthCounts(ctx, storage.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []storage.MonthCount{{2020, 1, 1}, {2019, 7, 1}, {2019, 6, 3}, {2018, 12, 1}}; !slices.Equal(all, want) {
		t.Fatalf("month counts unscoped: %v, want %v", all, want)
	}
	// The asker's archived and trashed photos are out of the timeline (the
	// default list), for them only.
	me := mine.As(7)
	if _, err := st.SetStates(ctx, me, june[:1], storage.StatePatch{Archived: yes()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetStates(ctx, me, june[1:], storage.StatePatch{Trashed: yes()}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.MonthCounts(ctx, me); err != nil || !slices.Equal(got, []storage.MonthCount{{2019, 7, 1}, {2018, 12, 1}}) {
		t.Fatalf("month counts with June's photos archived and trashed: %v %v, want July and December only", got, err)
	}
	if got, err := st.MonthCounts(ctx, mine.As(8)); err != nil || !slices.Equal(got, want) {
		t.Fatalf("month counts of another user: %v %v, want %v", got, err, want)
	}
	none, err := st.MonthCounts(ctx, storage.Only(nil))
	if err != nil || len(none) != 0 {
		t.Fatalf("month counts of no library: %v %v, want none", none, err)
	}

	// June 2019 from its end: the June photos, then older ones.
	photos, _, err := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: mine, Before: time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range photos {
		ids = append(ids, p.ID)
	}
	if len(ids) != 3 || !slices.Equal(ids[:2], june) {
		t.Fatalf("listed before July 2019: %v, want June's %v then December's", ids, june)
	}
}
