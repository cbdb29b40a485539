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

// ids lists the ids of photos, in order.
func ids(ps []storage.PhotoSummary) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// Albums: an album shared with another account shows its photos to that
// account, in lists, in Photo and in the media copy (VisibilitySince),
// outside their libraries, and nothing else of the owner's; a viewer
// cannot change it, an editor adds only photos he sees, only the owner
// shares and deletes; someone else does not see it at all.
func TestAlbumSharing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	anna, err := st.AddUser(ctx, "anna-"+newID(t)[:8], "x", false)
	if err != nil {
		t.Fatal(err)
	}
	benName, carlName := "ben-"+newID(t)[:8], "carl-"+newID(t)[:8]
	ben, err := st.AddUser(ctx, benName, "x", false)
	if err != nil {
		t.Fatal(err)
	}
	carl, err := st.AddUser(ctx, carlName, "x", false)
	if err != nil {
		t.Fatal(err)
	}
	la, lb := newLibrary(t, st), newLibrary(t, st)
	annaS := storage.Only([]int32{int32(la)}).As(anna)
	benS := storage.Only([]int32{int32(lb)}).As(ben)
	carlS := storage.Only(nil).As(carl)
	now := time.Now()
	a1 := addPhoto(t, st, la, "a1.jpg", now)
	a2 := addPhoto(t, st, la, "a2.jpg", now.Add(-time.Hour))
	secret := addPhoto(t, st, la, "secret.jpg", now.Add(-2*time.Hour))
	b1 := addPhoto(t, st, lb, "b1.jpg", now.Add(-3*time.Hour))

	id, err := st.CreateAlbum(ctx, anna, "Summer trip", "")
	if err != nil {
		t.Fatal(err)
	}
	// anna cannot add ben's photo (she does not see it): nothing added.
	if _, err := st.AddToAlbum(ctx, annaS, id, []string{a1, b1}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("adding a photo the owner cannot see: %v, want not found", err)
	}
	if n, err := st.AddToAlbum(ctx, annaS, id, []string{a1, a2, a1}); err != nil || n != 2 {
		t.Fatalf("add: %d %v", n, err)
	}
	if al, err := st.Album(ctx, anna, id); err != nil || al.Count != 2 || al.Role != "owner" || *al.Cover != a1 || al.Chosen {
		t.Fatalf("album as its owner: %+v %v", al, err)
	}

	// Not shared yet: ben sees neither the album nor its photos.
	if _, err := st.Album(ctx, ben, id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("album before sharing: %v", err)
	}
	if _, err := st.Photo(ctx, benS, a1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("photo before sharing: %v", err)
	}
	if err := st.ShareAlbum(ctx, anna, id, benName, "viewer"); err != nil {
		t.Fatal(err)
	}
	if err := st.ShareAlbum(ctx, ben, id, carlName, "viewer"); !errors.Is(err, storage.ErrNotAllowed) {
		t.Fatalf("a viewer sharing: %v", err)
	}
	if err := st.ShareAlbum(ctx, anna, id, "nobody-"+newID(t)[:6], "viewer"); !errors.Is(err, storage.ErrNoAccount) {
		t.Fatalf("sharing with no account: %v", err)
	}

	got, _, err := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: benS})
	if err != nil || !slices.Equal(ids(got), []string{a1, a2, b1}) {
		t.Fatalf("ben's list after the share: %v %v, want a1 a2 (the album) and b1 (his)", ids(got), err)
	}
	if got[0].Path != "" {
		t.Fatalf("ben sees anna's file name %q", got[0].Path)
	}
	got, _, err = st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: benS, Album: id})
	if err != nil || !slices.Equal(ids(got), []string{a1, a2}) {
		t.Fatalf("the album's photos for ben: %v %v", ids(got), err)
	}
	got, _, err = st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: benS, Albums: []string{"SUMMER TRIP"}})
	if err != nil || !slices.Equal(ids(got), []string{a1, a2}) {
		t.Fatalf("album:summer_trip for ben: %v %v", ids(got), err)
	}
	if got, _, err = st.ListPhotos(ctx, storage.ListParams{Limit: 50, Scope: storage.Scope{}.As(carl), Albums: []string{"summer trip"}}); err != nil || len(got) != 0 {
		t.Fatalf("album:NAME of an album not shared with carl (who sees every library): %v %v", ids(got), err)
	}
	if p, err := st.Photo(ctx, benS, a1); err != nil || len(p.Files) != 0 {
		t.Fatalf("an album photo for ben: %+v %v, want it without anna's files", p, err)
	}
	if _, err := st.Photo(ctx, benS, secret); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("anna's photo outside the album: %v", err)
	}
	al, err := st.Album(ctx, ben, id)
	if err != nil || al.Role != "viewer" {
		t.Fatalf("album for ben: %+v %v", al, err)
	}
	if list, err := st.Albums(ctx, ben); err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("ben's albums: %+v %v", list, err)
	}
	vis, err := st.VisibilitySince(ctx, storage.VisibilityMark{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []storage.UserPhoto{{User: ben, Photo: a1}, {User: ben, Photo: a2}, {User: anna, Photo: a1}} {
		if !slices.Contains(vis.Albums, want) {
			t.Fatalf("visibility lacks %+v: %+v", want, vis.Albums)
		}
	}
	if slices.Contains(vis.Albums, storage.UserPhoto{User: ben, Photo: secret}) {
		t.Fatal("visibility shows ben anna's photo outside the album")
	}

	// A viewer changes nothing.
	name := "mine now"
	if err := st.UpdateAlbum(ctx, ben, id, storage.AlbumChange{Name: &name}); !errors.Is(err, storage.ErrNotAllowed) {
		t.Fatalf("a viewer renaming: %v", err)
	}
	if _, err := st.AddToAlbum(ctx, benS, id, []string{b1}); !errors.Is(err, storage.ErrNotAllowed) {
		t.Fatalf("a viewer adding: %v", err)
	}
	if _, err := st.RemoveFromAlbum(ctx, benS, id, []string{a1}); !errors.Is(err, storage.ErrNotAllowed) {
		t.Fatalf("a viewer removing: %v", err)
	}
	// carl: no album at all.
	for _, err := range []error{
		st.UpdateAlbum(ctx, carl, id, storage.AlbumChange{Name: &name}),
		st.DeleteAlbum(ctx, carl, id),
		st.ShareAlbum(ctx, carl, id, carlName, "editor"),
	} {
		if !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("a stranger changing the album: %v, want not found", err)
		}
	}
	if _, err := st.AddToAlbum(ctx, carlS, id, []string{}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a stranger adding: %v", err)
	}

	// An editor adds his own photos, not anna's others; cannot delete.
	if err := st.ShareAlbum(ctx, anna, id, benName, "editor"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddToAlbum(ctx, benS, id, []string{b1, secret}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("an editor adding a photo he cannot see: %v", err)
	}
	if n, err := st.AddToAlbum(ctx, benS, id, []string{b1}); err != nil || n != 1 {
		t.Fatalf("an editor adding his photo: %d %v", n, err)
	}
	if err := st.DeleteAlbum(ctx, ben, id); !errors.Is(err, storage.ErrNotAllowed) {
		t.Fatalf("an editor deleting: %v", err)
	}
	// The cover must be in the album; removing it clears it.
	if err := st.UpdateAlbum(ctx, ben, id, storage.AlbumChange{Cover: &secret}); !errors.Is(err, storage.ErrNotInAlbum) {
		t.Fatalf("a cover not in the album: %v", err)
	}
	desc := "by the sea"
	if err := st.UpdateAlbum(ctx, ben, id, storage.AlbumChange{Name: &name, Description: &desc, Cover: &a2}); err != nil {
		t.Fatal(err)
	}
	if al, _ := st.Album(ctx, anna, id); al.Name != name || al.Description != desc || *al.Cover != a2 || !al.Chosen || al.Count != 3 {
		t.Fatalf("after the editor's change: %+v", al)
	}
	if n, err := st.RemoveFromAlbum(ctx, annaS, id, []string{a2}); err != nil || n != 1 {
		t.Fatalf("remove: %d %v", n, err)
	}
	if al, _ := st.Album(ctx, anna, id); al.Chosen || al.Count != 2 {
		t.Fatalf("after removing the cover: %+v", al)
	}

	// Unshared: ben loses the album and its photos, keeps his own.
	if err := st.UnshareAlbum(ctx, anna, id, benName); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Photo(ctx, benS, a1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("photo after unsharing: %v", err)
	}
	if _, err := st.Photo(ctx, benS, b1); err != nil {
		t.Fatalf("ben's own photo after unsharing: %v", err)
	}
	after, err := st.VisibilitySince(ctx, vis.Mark)
	if err != nil || !after.Full || slices.Contains(after.Albums, storage.UserPhoto{User: ben, Photo: a1}) {
		t.Fatalf("visibility after unsharing: full=%v %v", after.Full, err)
	}
	// Deleted: photos stay.
	if err := st.DeleteAlbum(ctx, anna, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Album(ctx, anna, id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("deleted album: %v", err)
	}
	if _, err := st.Photo(ctx, annaS, a1); err != nil {
		t.Fatalf("a photo of a deleted album: %v", err)
	}
}

// A photo deleted from the library leaves its albums; the local user's
// albums (no accounts) become the first admin's.
func TestAlbumCascadeAndAdoption(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib := newLibrary(t, st)
	a := addPhoto(t, st, lib, "a.jpg", time.Now())
	b := addPhoto(t, st, lib, "b.jpg", time.Now())
	id, err := st.CreateAlbum(ctx, 0, "Local", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddToAlbum(ctx, storage.Scope{}, id, []string{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateAlbum(ctx, 0, id, storage.AlbumChange{Cover: &a}); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveFiles(ctx, lib, []string{"a.jpg"}); err != nil {
		t.Fatal(err)
	}
	if gone, err := st.DeleteOrphanPhotos(ctx); err != nil || !slices.Contains(gone, a) {
		t.Fatalf("orphans deleted: %v %v", gone, err)
	}
	if al, err := st.Album(ctx, 0, id); err != nil || al.Count != 1 || al.Chosen {
		t.Fatalf("album after its photo left the library: %+v %v, want one photo, no chosen cover", al, err)
	}
	admin, err := st.AddFirstAdmin(ctx, "first-"+newID(t)[:8], "x")
	if err != nil {
		t.Fatal(err)
	}
	if al, err := st.Album(ctx, admin, id); err != nil || al.Role != "owner" {
		t.Fatalf("the local user's album for the first admin: %+v %v", al, err)
	}
	if _, err := st.Album(ctx, 0, id); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the local user still owns it: %v", err)
	}
}
