package storage_test

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

// An upload library is its user's alone: found again by its owner, never
// made of a folder library's root; its files count against the quota;
// HaveHashes answers for the asker's own libraries only and forgets what
// the asker emptied from the trash; PurgedUploads lists a purged photo's
// file in an upload library and never in a folder library, and Unpurge
// brings the photo back.
func TestUploadLibraries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	anna, err := st.AddUser(ctx, "anna-"+newID(t)[:8], "x", false)
	if err != nil {
		t.Fatal(err)
	}
	ben, err := st.AddUser(ctx, "ben-"+newID(t)[:8], "x", false)
	if err != nil {
		t.Fatal(err)
	}
	root := "/data/uploads/" + newID(t)
	lib, dir, err := st.UploadLibrary(ctx, anna, root)
	if err != nil || dir != root {
		t.Fatalf("upload library: %d %q %v", lib, dir, err)
	}
	if again, dir, err := st.UploadLibrary(ctx, anna, "/elsewhere/"+newID(t)); err != nil || again != lib || dir != root {
		t.Fatalf("anna's upload library again: %d %q %v, want %d at %s", again, dir, err, lib, root)
	}
	folderRoot := "/lib/" + newID(t)
	folder, err := st.EnsureLibrary(ctx, folderRoot)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.UploadLibrary(ctx, ben, folderRoot); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("a folder library's root as ben's upload library: %v, want ErrExists", err)
	}

	up := addPhoto(t, st, lib, "2024/05/a.jpg", time.Now())
	inFolder := addPhoto(t, st, folder, "b.jpg", time.Now())
	if n, err := st.UploadedBytes(ctx, anna); err != nil || n != 10 {
		t.Fatalf("anna's uploaded bytes: %d %v, want 10", n, err)
	}
	if n, err := st.UploadedBytes(ctx, ben); err != nil || n != 0 {
		t.Fatalf("ben's uploaded bytes: %d %v, want 0", n, err)
	}
	upHash, _ := hex.DecodeString(up)
	folderHash, _ := hex.DecodeString(inFolder)
	nobody, _ := hex.DecodeString(newID(t))
	have, err := st.HaveHashes(ctx, anna, [][]byte{upHash, folderHash, nobody})
	if err != nil || len(have) != 1 || !slices.Equal(have[0], upHash) {
		t.Fatalf("anna has %x (%v), want her upload only (the folder library is not hers)", have, err)
	}
	if have, _ := st.HaveHashes(ctx, ben, [][]byte{upHash}); len(have) != 0 {
		t.Fatalf("ben has anna's upload: %x", have)
	}

	annaScope := storage.Only([]int32{int32(lib), int32(folder)}).As(anna)
	if _, err := st.SetStates(ctx, annaScope, []string{up, inFolder}, storage.StatePatch{Trashed: yes()}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.PurgedUploads(ctx, lib); err != nil || len(got) != 0 {
		t.Fatalf("purged uploads while only trashed: %v %v", got, err)
	}
	if _, err := st.EmptyTrash(ctx, anna); err != nil {
		t.Fatal(err)
	}
	if got, err := st.PurgedUploads(ctx, lib); err != nil || !slices.Equal(got, []string{"2024/05/a.jpg"}) {
		t.Fatalf("purged uploads: %v %v, want the uploaded file", got, err)
	}
	if got, err := st.PurgedUploads(ctx, folder); err != nil || len(got) != 0 {
		t.Fatalf("purged files of a folder library: %v %v: Shoebox never deletes those", got, err)
	}
	if got, err := st.PurgedUploadRoots(ctx); err != nil || !slices.Contains(got, root) || slices.Contains(got, folderRoot) {
		t.Fatalf("purged upload roots: %v %v", got, err)
	}
	if have, _ := st.HaveHashes(ctx, anna, [][]byte{upHash}); len(have) != 0 {
		t.Fatalf("anna still has the photo she emptied from the trash: %x", have)
	}
	if err := st.Unpurge(ctx, anna, up); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.PurgedUploads(ctx, lib); len(got) != 0 {
		t.Fatalf("after an upload again, still purged: %v", got)
	}
	if got := listIDs(t, st, annaScope, storage.Default); !slices.Contains(got, up) {
		t.Fatalf("anna's list %v lacks the photo she uploaded again", got)
	}
}
