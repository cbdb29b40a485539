package storage_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

func listIDs(t *testing.T, st *storage.Storage, scope storage.Scope, only storage.StateFilter) []string {
	t.Helper()
	ps, _, err := st.ListPhotos(context.Background(), storage.ListParams{Limit: 50, Scope: scope, Only: only})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func yes() *bool { b := true; return &b }
func no() *bool  { return new(bool) }

// Favourite, archive and trash are each user's own: default lists leave
// out what the asker archived or trashed, the is: lists hold it, another
// user's lists are untouched, a photo the asker may not see cannot be
// changed (nothing is, then), and an emptied trash hides for good.
func TestPhotoStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	l1, l2 := newLibrary(t, st), newLibrary(t, st)
	now := time.Now()
	a, b, c := addPhoto(t, st, l1, "a.jpg", now), addPhoto(t, st, l1, "b.jpg", now.Add(-time.Hour)), addPhoto(t, st, l1, "c.jpg", now.Add(-2*time.Hour))
	other := addPhoto(t, st, l2, "other.jpg", now)
	me := storage.Only([]int32{int32(l1)}).As(7)
	you := storage.Only([]int32{int32(l1)}).As(8)

	if n, err := st.SetStates(ctx, me, []string{a}, storage.StatePatch{Favorite: yes()}); err != nil || n != 1 {
		t.Fatalf("favourite: %d %v", n, err)
	}
	if _, err := st.SetStates(ctx, me, []string{b}, storage.StatePatch{Archived: yes()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetStates(ctx, me, []string{c, c}, storage.StatePatch{Trashed: yes(), Favorite: yes()}); err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, st, me, storage.Default); !slices.Equal(got, []string{a}) {
		t.Fatalf("my default list %v, want a only (b archived, c trashed)", got)
	}
	if mine, err := st.Stats(ctx, me); err != nil || mine.Photos != 2 {
		t.Fatalf("my stats: %+v %v, want 2 photos (c is in my trash, archived b counts)", mine, err)
	}
	if yours, err := st.Stats(ctx, you); err != nil || yours.Photos != 3 {
		t.Fatalf("another user's stats: %+v %v, want 3", yours, err)
	}
	if got := listIDs(t, st, you, storage.Default); !slices.Equal(got, []string{a, b, c}) {
		t.Fatalf("another user's list %v, want all three: state is per user", got)
	}
	if got := listIDs(t, st, me, storage.Favorites); !slices.Equal(got, []string{a}) {
		t.Fatalf("favourites %v, want a (c is favourite but trashed)", got)
	}
	if got := listIDs(t, st, me, storage.Archived); !slices.Equal(got, []string{b}) {
		t.Fatalf("archive %v, want b", got)
	}
	if got := listIDs(t, st, me, storage.Trashed); !slices.Equal(got, []string{c}) {
		t.Fatalf("trash %v, want c", got)
	}
	ps, _, _ := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: me, Only: storage.Trashed})
	if len(ps) != 1 || !ps[0].Trashed || !ps[0].Favorite || ps[0].Archived {
		t.Fatalf("trash entry %+v, want trashed and favourite", ps)
	}
	if p, err := st.Photo(ctx, me, a); err != nil || !p.Favorite || p.Trashed {
		t.Fatalf("photo a: %+v %v", p, err)
	}

	// A photo of a library I do not see, or no photo: nothing changes.
	if _, err := st.SetStates(ctx, me, []string{a, other}, storage.StatePatch{Archived: yes()}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("changing a photo of another library: %v, want not found", err)
	}
	if _, err := st.SetStates(ctx, me, []string{a, "AAAAAAAAAAAAAAAAAAAA"}, storage.StatePatch{Archived: yes()}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("changing no photo: %v, want not found", err)
	}
	if got := listIDs(t, st, me, storage.Default); !slices.Equal(got, []string{a}) {
		t.Fatalf("after refused changes %v, want a still in the default list", got)
	}

	// Restore, then trash again and empty the trash: gone for me alone.
	if _, err := st.SetStates(ctx, me, []string{c}, storage.StatePatch{Trashed: no()}); err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, st, me, storage.Default); !slices.Equal(got, []string{a, c}) {
		t.Fatalf("after restoring c %v, want a and c", got)
	}
	if _, err := st.SetStates(ctx, me, []string{c}, storage.StatePatch{Trashed: yes()}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PurgeTrash(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("purging what was trashed just now: %d %v, want none", n, err)
	}
	// Trashed 31 days ago (another user's photo b): the 30-day purge
	// empties it for that user, and touches nothing trashed since.
	if _, err := st.SetStates(ctx, you, []string{b}, storage.StatePatch{Trashed: yes()}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE photo_states SET trashed_at = now() - interval '31 days' WHERE user_id = 8 AND photo_id = $1`, b); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PurgeTrash(ctx, 30*24*time.Hour); err != nil || n != 1 {
		t.Fatalf("the 30-day purge: %d %v, want 1 (b of user 8)", n, err)
	}
	if _, err := st.Photo(ctx, you, b); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("user 8's purged b: %v, want not found", err)
	}
	if got := listIDs(t, st, me, storage.Trashed); !slices.Equal(got, []string{c}) {
		t.Fatalf("my trash after the purge: %v, want c still there", got)
	}
	if n, err := st.EmptyTrash(ctx, me.User()); err != nil || n != 1 {
		t.Fatalf("empty trash: %d %v", n, err)
	}
	if got := listIDs(t, st, me, storage.Trashed); len(got) != 0 {
		t.Fatalf("trash after emptying: %v", got)
	}
	if _, err := st.Photo(ctx, me, c); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an emptied photo's page: %v, want not found", err)
	}
	if _, err := st.SetStates(ctx, me, []string{c}, storage.StatePatch{Trashed: no()}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("restoring an emptied photo: %v, want not found", err)
	}
	if _, err := st.Photo(ctx, you, c); err != nil {
		t.Fatalf("another user's view of c: %v", err)
	}
}

// The first admin inherits the local user's state (user 0). Not in
// parallel: AddFirstAdmin locks the users table, which waits for every
// other test's transaction that added a user.
func TestFirstAdminAdoptsLocalState(t *testing.T) {
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib := newLibrary(t, st)
	a := addPhoto(t, st, lib, "a.jpg", time.Now())
	local := storage.Scope{}
	if _, err := st.SetStates(ctx, local, []string{a}, storage.StatePatch{Favorite: yes()}); err != nil {
		t.Fatal(err)
	}
	id, err := st.AddFirstAdmin(ctx, "first-"+newID(t)[:8], "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := listIDs(t, st, storage.Scope{}.As(id), storage.Favorites); !slices.Equal(got, []string{a}) {
		t.Fatalf("the first admin's favourites %v, want the local user's", got)
	}
	if got := listIDs(t, st, local, storage.Favorites); len(got) != 0 {
		t.Fatalf("local favourites left behind: %v", got)
	}
}
