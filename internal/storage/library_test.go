package storage_test

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

// A Scope sees the photos of its libraries and nothing else, in every
// query that lists, counts or shows photos; a photo held by two libraries
// shows, in each scope, only the path its own library gives it.
func TestScopeLimitsEveryQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	l1, l2 := newLibrary(t, st), newLibrary(t, st)
	now := time.Now()
	a := addPhoto(t, st, l1, "mine/a.jpg", now)
	b := addPhoto(t, st, l2, "theirs/secretname.jpg", now.Add(-time.Hour))
	c := addPhoto(t, st, l2, "theirs/zz-shared.jpg", now.Add(-2*time.Hour))
	// The same content in l1 under another name.
	if _, err := st.SaveScanned(ctx, l1, []storage.ScannedFile{{RelPath: "mine/c.jpg", Size: 10, MTime: now, PhotoID: c, Hash: hashOf(t, c)}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveTags(ctx, "m", map[string][]storage.Tag{a: {{"dog", 0.9}}, b: {{"dog", 0.8}, {"cat", 0.7}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceDuplicateGroups(ctx, "m", [][]string{{a, b, c}}); err != nil {
		t.Fatal(err)
	}
	mine := storage.Only([]int32{int32(l1)})

	photos, _, err := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: mine})
	if err != nil {
		t.Fatal(err)
	}
	var ids, paths []string
	for _, p := range photos {
		ids, paths = append(ids, p.ID), append(paths, p.Path)
	}
	if !slices.Equal(ids, []string{a, c}) || !slices.Equal(paths, []string{"mine/a.jpg", "mine/c.jpg"}) {
		t.Fatalf("list in l1's scope: %v %v, want [a c] at their l1 paths", ids, paths)
	}
	if ps, _, _ := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: mine, Terms: []string{"secretname"}}); len(ps) != 0 {
		t.Fatalf("searching the other library's file name found %v", ps)
	}
	// c is in l1 too, but "zz-shared" is only l2's name for it.
	if ps, _, _ := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: mine, Terms: []string{"zz-shared"}}); len(ps) != 0 {
		t.Fatalf("searching the name another library gives a photo found %v", ps)
	}
	if ok, _ := st.AllWordsMatch(ctx, mine, []string{"zz"}); ok {
		t.Fatal("a word of another library's name for a shared photo matches in l1's scope")
	}
	if ps, _, _ := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: mine, Terms: []string{"mine/c"}}); len(ps) != 1 || ps[0].ID != c {
		t.Fatalf("searching l1's own name for c: %v, want c", ps)
	}
	if _, err := st.Photo(ctx, mine, b); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("photo of another library: %v, want not found", err)
	}
	p, err := st.Photo(ctx, mine, c)
	if err != nil || len(p.Files) != 1 || p.Files[0].RelPath != "mine/c.jpg" || p.Path != "mine/c.jpg" {
		t.Fatalf("shared content in l1's scope: %+v %v, want its l1 file only", p, err)
	}
	if all, err := st.Photo(ctx, storage.Scope{}, c); err != nil || len(all.Files) != 2 {
		t.Fatalf("shared content unscoped: %+v %v, want both files", all, err)
	}
	s, err := st.Stats(ctx, mine)
	if err != nil || s.Photos != 2 || s.Files != 2 || s.Cameras[0].Photos != 2 {
		t.Fatalf("stats in l1's scope: %+v %v, want 2 photos, 2 files", s, err)
	}
	if counts, err := st.TagCounts(ctx, mine, 10); err != nil || counts["dog"] != 1 || counts["cat"] != 0 {
		t.Fatalf("tags in l1's scope: %v %v, want dog 1, no cat", counts, err)
	}
	groups, err := st.DuplicateGroups(ctx, mine, 10)
	if err != nil || len(groups) != 1 || len(groups[0]) != 2 || groups[0][0].ID == b || groups[0][1].ID == b {
		t.Fatalf("duplicates in l1's scope: %v %v, want one group of a and c", groups, err)
	}
	if ok, err := st.AllWordsMatch(ctx, mine, []string{"secretname"}); err != nil || ok {
		t.Fatalf("words of the other library match in l1's scope: %v %v", ok, err)
	}
	if ok, err := st.AllWordsMatch(ctx, storage.Scope{}, []string{"secretname"}); err != nil || !ok {
		t.Fatalf("words unscoped: %v %v, want a match (the check above is not blind)", ok, err)
	}
	none := storage.Only(nil)
	if ps, _, err := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: none}); err != nil || len(ps) != 0 {
		t.Fatalf("a scope of no library lists %v %v", ps, err)
	}
	if s, err := st.Stats(ctx, none); err != nil || s.Photos != 0 || s.Files != 0 {
		t.Fatalf("a scope of no library counts %+v %v", s, err)
	}
	if mine.Key() == storage.Only([]int32{int32(l2)}).Key() || mine.Key() == (storage.Scope{}).Key() || none.Key() == (storage.Scope{}).Key() {
		t.Fatal("different scopes share a cache key")
	}
}

// Libraries belong to people: the owner and those it is shared with see
// it (VisibilitySince); another account cannot take it; files written
// after a mark come incrementally, and a removal reloads everything.
func TestLibraryOwnersAndVisibility(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	anna, err := st.AddUser(ctx, "anna-"+newID(t)[:8], "x", true)
	if err != nil {
		t.Fatal(err)
	}
	benName := "ben-" + newID(t)[:8]
	ben, err := st.AddUser(ctx, benName, "x", false)
	if err != nil {
		t.Fatal(err)
	}
	root := "/lib/" + newID(t)
	lib, added, err := st.AddLibrary(ctx, root, benName)
	if err != nil || !added {
		t.Fatalf("add library: %v %v", added, err)
	}
	if _, _, err := st.AddLibrary(ctx, root, "no-such-account"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("add for a missing account: %v", err)
	}
	a := addPhoto(t, st, lib, "a.jpg", time.Now())

	full, err := st.VisibilitySince(ctx, storage.VisibilityMark{})
	if err != nil || !full.Full {
		t.Fatalf("first read: %+v %v, want everything", full.Full, err)
	}
	if got := usersOf(full, int32(lib)); !slices.Equal(got, []int64{ben}) {
		t.Fatalf("who sees ben's library: %v, want ben only (not the admin)", got)
	}
	if !slices.Contains(full.Files, storage.PhotoLibrary{Photo: a, Library: int32(lib)}) {
		t.Fatalf("photo a missing from the full read")
	}

	b := addPhoto(t, st, lib, "b.jpg", time.Now())
	inc, err := st.VisibilitySince(ctx, full.Mark)
	if err != nil || inc.Full || !slices.Contains(inc.Files, storage.PhotoLibrary{Photo: b, Library: int32(lib)}) {
		t.Fatalf("after a new file: full=%v %v, want b incrementally", inc.Full, err)
	}

	if err := st.ShareLibrary(ctx, root, benName, true); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("sharing with the owner: %v", err)
	}
	annaName := ""
	us, _ := st.Users(ctx)
	for _, u := range us {
		if u.ID == anna {
			annaName = u.Name
		}
	}
	if err := st.ShareLibrary(ctx, root, annaName, true); err != nil {
		t.Fatal(err)
	}
	shared, err := st.VisibilitySince(ctx, inc.Mark)
	if err != nil || !shared.Full || !slices.Equal(usersOf(shared, int32(lib)), []int64{anna, ben}) {
		t.Fatalf("after sharing: full=%v users %v %v, want a reload with anna and ben", shared.Full, usersOf(shared, int32(lib)), err)
	}
	if err := st.ShareLibrary(ctx, root, annaName, false); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveFiles(ctx, lib, []string{"a.jpg"}); err != nil {
		t.Fatal(err)
	}
	gone, err := st.VisibilitySince(ctx, shared.Mark)
	if err != nil || !gone.Full || slices.Contains(gone.Files, storage.PhotoLibrary{Photo: a, Library: int32(lib)}) ||
		!slices.Equal(usersOf(gone, int32(lib)), []int64{ben}) {
		t.Fatalf("after unsharing and a removal: full=%v %v, want a reload without a and without anna", gone.Full, err)
	}
	libs, err := st.Libraries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range libs {
		if l.Root == root && (l.Owner != benName || len(l.Shared) != 0) {
			t.Fatalf("library list: %+v", l)
		}
	}
	if _, _, err := st.AddLibrary(ctx, root, annaName); !errors.Is(err, storage.ErrOwned) {
		t.Fatalf("another account adding ben's library: %v, want ErrOwned", err)
	}
}

func usersOf(c storage.VisibilityChanges, lib int32) []int64 {
	for _, l := range c.Libraries {
		if l.ID == lib {
			u := slices.Clone(l.Users)
			slices.Sort(u)
			return u
		}
	}
	return nil
}

// hashOf is the content hash addPhoto gave photo id.
func hashOf(t *testing.T, id string) []byte {
	t.Helper()
	h, err := hex.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Changes that move the visibility epoch never wait for each other: a
// transaction that added a library (moving the epoch) and has not
// committed does not hold up another adding a user, an album member or a
// library (it once held the epoch's one row until it committed, and two
// such transactions deadlocked when one then locked what the other held,
// AddFirstAdmin's LOCK TABLE users among them). The epoch moves when they
// commit, by one for each change, folded or not.
func TestVisibilityChangesDoNotWaitForEachOther(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, 4)
	st := storage.New(db)
	before, err := st.VisibilitySince(ctx, storage.VisibilityMark{})
	if err != nil {
		t.Fatal(err)
	}
	first, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback(ctx)
	if _, err := storage.InTx(first).EnsureLibrary(ctx, "/lib/"+newID(t)); err != nil {
		t.Fatal(err)
	}
	// The second gives up at once on any lock it would have to wait for.
	second, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Rollback(ctx)
	if _, err := second.Exec(ctx, `SET LOCAL lock_timeout = '1ms'`); err != nil {
		t.Fatal(err)
	}
	st2 := storage.InTx(second)
	if _, err := st2.AddUser(ctx, "ann-"+newID(t)[:8], "x", false); err != nil {
		t.Fatalf("adding a user beside an open transaction that added a library: %v", err)
	}
	if _, err := st2.EnsureLibrary(ctx, "/lib/"+newID(t)); err != nil {
		t.Fatalf("adding a library beside it: %v", err)
	}
	if mid, err := st.VisibilitySince(ctx, before.Mark); err != nil || mid.Full || mid.Mark.Epoch != before.Mark.Epoch {
		t.Fatalf("epoch before either commits: %d (full %v, %v), want %d", mid.Mark.Epoch, mid.Full, err, before.Mark.Epoch)
	}
	if err := second.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := st.VisibilitySince(ctx, before.Mark)
	if err != nil || !after.Full || after.Mark.Epoch != before.Mark.Epoch+3 {
		t.Fatalf("epoch after both committed: %d (full %v, %v), want %d", after.Mark.Epoch, after.Full, err, before.Mark.Epoch+3)
	}
	// Folding the bumps (a few percent of them fold, one at a time) keeps
	// the sum.
	if err := db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `SELECT visibility_move() FROM generate_series(1, 1000)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var epoch, rows int64
	if err := db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT visibility_epoch(), (SELECT count(*) FROM visibility_bumps)`).Scan(&epoch, &rows)
	}); err != nil {
		t.Fatal(err)
	}
	if epoch != after.Mark.Epoch+1000 || rows >= 1003 {
		t.Fatalf("after 1,000 more moves: epoch %d (%d rows of bumps), want %d and some folded", epoch, rows, after.Mark.Epoch+1000)
	}
}
