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
	err := Walk(context.Background(), root, WalkOptions{}, func(e Entry) error {
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

func walkPaths(t *testing.T, root string, o WalkOptions) []string {
	t.Helper()
	var got []string
	if err := Walk(context.Background(), root, o, func(e Entry) error {
		if e.Err != nil {
			t.Errorf("%s: %v", e.RelPath, e.Err)
		}
		got = append(got, e.RelPath)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	return got
}

func same(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The data folder is recognised by identity: inside a library, or reached
// by a symlink to it or to anything under it, it is never indexed, even
// when Skip names it by another path.
func TestWalkSkipsDataFolderByIdentity(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a.jpg"), "a")
	write(t, filepath.Join(root, "data", "media", "x.jpg"), "ours, inside the library")
	outer := t.TempDir()
	data := filepath.Join(outer, "data")
	write(t, filepath.Join(data, "media", "ab", "abc.thumb.webp"), "a thumbnail")
	write(t, filepath.Join(data, "media", "ab", "abc.preview.jpg"), "a preview")
	must(t, os.Symlink(data, filepath.Join(root, "to-data")))
	must(t, os.Symlink(filepath.Join(data, "media"), filepath.Join(root, "to-media")))
	must(t, os.Symlink(filepath.Join(data, "media", "ab"), filepath.Join(root, "to-shard")))
	must(t, os.Symlink(filepath.Join(data, "media", "ab", "abc.preview.jpg"), filepath.Join(root, "preview.jpg")))
	must(t, os.Symlink("to-shard", filepath.Join(root, "to-link"))) // a link to a link
	// Skip names the folders through other paths than the links take.
	alias := filepath.Join(t.TempDir(), "alias")
	must(t, os.Symlink(outer, alias))
	for _, stay := range []bool{false, true} {
		got := walkPaths(t, root, WalkOptions{Skip: []string{alias + "/data", root + "/./data"}, StayInside: stay})
		if want := []string{"a.jpg"}; !same(got, want) {
			t.Fatalf("stay inside %v: got %q, want %q", stay, got, want)
		}
	}
	// Without Skip the same links are followed (the test is not vacuous).
	if got := walkPaths(t, root, WalkOptions{}); len(got) < 5 {
		t.Fatalf("without Skip: got %q", got)
	}
}

// StayInside skips symlinks (folders and files) that lead outside the
// library; links within it still work. OutsideLinks counts the others.
func TestWalkStayInside(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "a.jpg"), "a")
	write(t, filepath.Join(root, "sub", "b.jpg"), "b")
	other := t.TempDir()
	write(t, filepath.Join(other, "o.jpg"), "outside")
	write(t, filepath.Join(other, "deep", "p.jpg"), "outside, deeper")
	must(t, os.Symlink(other, filepath.Join(root, "out-dir")))
	must(t, os.Symlink(filepath.Join(other, "o.jpg"), filepath.Join(root, "out.jpg")))
	// A relative link, still outside (temp folders share a parent).
	if filepath.Dir(root) != filepath.Dir(other) {
		t.Fatalf("temp folders %s and %s do not share a parent", root, other)
	}
	must(t, os.Symlink("../../"+filepath.Base(other)+"/deep", filepath.Join(root, "sub", "rel-out")))
	must(t, os.Symlink("sub", filepath.Join(root, "in-dir")))
	must(t, os.Symlink("sub/b.jpg", filepath.Join(root, "in.jpg")))
	// A link that climbs out and comes back in stays inside.
	must(t, os.Symlink("../"+filepath.Base(root)+"/sub", filepath.Join(root, "round-trip")))

	// Folders are visited in name order, each once: sub is first reached
	// through in-dir.
	got := walkPaths(t, root, WalkOptions{StayInside: true})
	if want := []string{"a.jpg", "in-dir/b.jpg", "in.jpg"}; !same(got, want) {
		t.Fatalf("stay inside: got %q, want %q", got, want)
	}
	got = walkPaths(t, root, WalkOptions{})
	if want := []string{"a.jpg", "in-dir/b.jpg", "in-dir/rel-out/p.jpg", "in.jpg", "out-dir/o.jpg", "out.jpg"}; !same(got, want) {
		t.Fatalf("default: got %q, want %q", got, want)
	}
	n, ex, err := OutsideLinks(context.Background(), root, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || len(ex) != 2 {
		t.Fatalf("OutsideLinks: %d %q, want 3 with 2 examples", n, ex)
	}
	if n, _, _ := OutsideLinks(context.Background(), other, 2); n != 0 {
		t.Fatalf("a library without links has %d outside links", n)
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
