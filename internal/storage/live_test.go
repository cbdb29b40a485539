package storage_test

import (
	"context"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

// addLive saves a scanned file at rel in lib as a ready still or movie
// carrying Apple's content identifier cid.
func addLive(t *testing.T, st *storage.Storage, lib int, rel, cid string, video bool) string {
	t.Helper()
	ctx := context.Background()
	id := newID(t)
	hash, _ := hex.DecodeString(id)
	taken := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	if _, err := st.SaveScanned(ctx, lib, []storage.ScannedFile{{RelPath: rel, Size: 10, MTime: taken, PhotoID: id, Hash: hash}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SavePhotoResult(ctx, id, liveResult(cid, video)); err != nil {
		t.Fatal(err)
	}
	return id
}

func liveResult(cid string, video bool) storage.PhotoResult {
	r := storage.PhotoResult{Format: "heif", Width: 40, Height: 30, ThumbWidth: 4, ThumbHeight: 3,
		TakenAt: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), ContentID: cid}
	if video {
		r.Format, r.Video = "mov", &storage.VideoResult{Duration: 2.5, VideoCodec: "h264", AudioCodec: "aac"}
	}
	return r
}

// listed is the ids of every photo the unlimited scope lists, with their
// paired movies.
func listed(t *testing.T, st *storage.Storage, p storage.ListParams) map[string]string {
	t.Helper()
	p.Limit = 500
	got, _, err := st.ListPhotos(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ps := range got {
		out[ps.ID] = ps.LiveVideo
	}
	return out
}

// A still and a movie sharing a content id in one library pair, whichever
// is processed second; the movie leaves every list but stays reachable;
// a movie of another library or without the id stays a video of its own.
func TestLivePhotoPairing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	lib, other := newLibrary(t, st), newLibrary(t, st)
	cid, cid2 := "A1-"+newID(t), "B2-"+newID(t)

	still := addLive(t, st, lib, "IMG_0001.HEIC", cid, false) // still first
	elsewhere := addLive(t, st, other, "IMG_0001.MOV", cid, true)
	movie := addLive(t, st, lib, "IMG_0001.MOV", cid, true)
	movie2 := addLive(t, st, lib, "IMG_0002.MOV", cid2, true) // movie first
	still2 := addLive(t, st, lib, "IMG_0002.HEIC", cid2, false)
	plain := addLive(t, st, lib, "clip.mov", "", true)

	for name, p := range map[string]storage.ListParams{
		"all": {}, "videos": {MediaType: "video"}, "photos": {MediaType: "photo"}, "search": {Terms: []string{"img_000"}},
	} {
		got := listed(t, st, p)
		for _, m := range []string{movie, movie2} {
			if _, ok := got[m]; ok {
				t.Errorf("%s: paired movie %s listed", name, m)
			}
		}
		if name != "videos" && name != "search" && (got[still] != movie || got[still2] != movie2) {
			t.Errorf("%s: stills' movies %q %q, want %q %q", name, got[still], got[still2], movie, movie2)
		}
		if name == "videos" || name == "all" {
			if _, ok := got[elsewhere]; !ok {
				t.Errorf("%s: the other library's movie is not listed", name)
			}
			if _, ok := got[plain]; !ok {
				t.Errorf("%s: the unrelated video is not listed", name)
			}
		}
	}
	p, err := st.Photo(ctx, storage.Scope{}, still)
	if err != nil || p.LiveVideo != movie {
		t.Fatalf("photo %s: live video %q (%v), want %q", still, p.LiveVideo, err, movie)
	}
	if m, err := st.Photo(ctx, storage.Scope{}, movie); err != nil || m.MediaType != "video" {
		t.Fatalf("the paired movie itself: %v %v", m, err)
	}

	// A share of the still carries its movie, so the visitor sees it move.
	user, err := st.AddUser(ctx, "live"+newID(t)[:8], "x", true)
	if err != nil {
		t.Fatal(err)
	}
	share, err := st.AddShare(ctx, storage.Scope{}.As(user), storage.NewShare{KeyHash: []byte(newID(t)), IDs: []string{still}})
	if err != nil {
		t.Fatal(err)
	}
	shares, err := st.LiveShares(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, sh := range shares {
		if sh.ID == share {
			found = true
			slices.Sort(sh.Photos)
			want := []string{still, movie}
			slices.Sort(want)
			if !slices.Equal(sh.Photos, want) {
				t.Errorf("share photos %v, want %v", sh.Photos, want)
			}
		}
	}
	if !found {
		t.Fatal("share not live")
	}

	// Read again without the identifier (a re-read that no longer finds
	// it): the pair comes apart and the movie is listed again.
	if err := st.SavePhotoResult(ctx, still, liveResult("", false)); err != nil {
		t.Fatal(err)
	}
	got := listed(t, st, storage.ListParams{})
	if _, ok := got[movie]; !ok || got[still] != "" {
		t.Errorf("unpaired: movie listed %v, still's movie %q", ok, got[still])
	}
	// A movie read again with another identifier lets its still go too.
	if err := st.SavePhotoResult(ctx, movie2, liveResult("C3-"+newID(t), true)); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, st, storage.ListParams{}); got[still2] != "" {
		t.Errorf("still2 still paired with %q", got[still2])
	}
	// Re-reading a paired still with the same identifier keeps the pair.
	if err := st.SavePhotoResult(ctx, still, liveResult(cid, false)); err != nil {
		t.Fatal(err)
	}
	if err := st.SavePhotoResult(ctx, still, liveResult(cid, false)); err != nil {
		t.Fatal(err)
	}
	if got := listed(t, st, storage.ListParams{}); got[still] != movie {
		t.Errorf("re-read still: movie %q, want %q", got[still], movie)
	}
}
