package library

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWalkFindsPhotosAndSurvivesLoops(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a.jpg"), "a")
	write(t, filepath.Join(root, "sub", "B.JPEG"), "b")
	write(t, filepath.Join(root, "sub", "deeper", "c.heic"), "c")
	write(t, filepath.Join(root, "notes.txt"), "not a photo")
	write(t, filepath.Join(root, ".hidden", "d.jpg"), "hidden")
	write(t, filepath.Join(root, "new\nline <b>.png"), "odd name")
	other := t.TempDir()
	write(t, filepath.Join(other, "linked.webp"), "via link")
	must(t, os.Symlink(".", filepath.Join(root, "sub", "loop")))          // loop to itself
	must(t, os.Symlink(root, filepath.Join(root, "sub", "deeper", "up"))) // loop to the root
	must(t, os.Symlink(other, filepath.Join(root, "elsewhere")))          // a real linked folder
	must(t, os.Symlink("self.jpg", filepath.Join(root, "self.jpg")))      // a self link
	must(t, os.Symlink("missing.jpg", filepath.Join(root, "broken.jpg"))) // a broken link

	var got []string
	errs := map[string]bool{}
	err := Walk(context.Background(), root, nil, func(e Entry) error {
		got = append(got, e.RelPath)
		if e.Err != nil {
			errs[e.RelPath] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	want := []string{"a.jpg", "broken.jpg", "elsewhere/linked.webp", "new\nline <b>.png", "self.jpg", "sub/B.JPEG", "sub/deeper/c.heic"}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	if !errs["self.jpg"] || !errs["broken.jpg"] || len(errs) != 2 {
		t.Fatalf("errors for %v, want self.jpg and broken.jpg", errs)
	}
}

func TestWalkSkipsDataFolder(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a.jpg"), "a")
	write(t, filepath.Join(root, "data", "media", "x.jpg"), "ours")
	var got []string
	if err := Walk(context.Background(), root, []string{filepath.Join(root, "data")}, func(e Entry) error {
		got = append(got, e.RelPath)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "a.jpg" {
		t.Fatalf("got %q", got)
	}
}

func TestHashGivesURLSafeContentID(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "1.jpg"), "same bytes")
	write(t, filepath.Join(dir, "2.jpg"), "same bytes")
	write(t, filepath.Join(dir, "3.jpg"), "other bytes")
	id1, sum1, err := Hash(filepath.Join(dir, "1.jpg"))
	must(t, err)
	id2, _, _ := Hash(filepath.Join(dir, "2.jpg"))
	id3, _, _ := Hash(filepath.Join(dir, "3.jpg"))
	if id1 != id2 || id1 == id3 {
		t.Fatalf("ids %s %s %s: identical content must share an id, different must not", id1, id2, id3)
	}
	if !ValidID(id1) || len(sum1) != 32 {
		t.Fatalf("id %q not valid or sum len %d", id1, len(sum1))
	}
	for _, bad := range []string{"", "../../etc/passwd", "abc", "aaaaaaaaaaaaaaaaaaa/", "aaaaaaaaaaaaaaaaaa.."} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
	if _, _, err := Hash(filepath.Join(dir, "missing.jpg")); err == nil {
		t.Fatal("hash of a missing file must fail")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
