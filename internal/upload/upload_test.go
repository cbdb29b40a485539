package upload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A client's file name never becomes a path: only its last element, no
// control characters, no leading dots, a bounded length.
func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{
		"IMG_0001.JPG":                      "IMG_0001.jpg",
		"../../etc/passwd.jpg":              "passwd.jpg",
		`C:\Users\me\holiday.heic`:          "holiday.heic",
		"..jpg":                             "upload.jpg",
		".hidden.png":                       "hidden.png",
		"a\nb\x00c.jpg":                     "abc.jpg",
		"":                                  "upload",
		"/":                                 "upload",
		"what?<>|*.mp4":                     "what.mp4",
		string(make([]byte, 300)):           "upload",
		"x" + string(rune(0xFFFD)) + ".jpg": "x.jpg",
	} {
		if got := SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
	long := SafeName(strings.Repeat("é", 200) + ".jpg")
	if len(long) > 104 || filepath.Ext(long) != ".jpg" {
		t.Errorf("a long name: %q (%d bytes)", long, len(long))
	}
}

// Account names that are no plain folder name get a folder by id.
func TestFolder(t *testing.T) {
	for _, c := range []struct {
		name string
		id   int64
		want string
	}{{"anna", 3, "anna"}, {"..", 4, "@4"}, {".tus", 5, "@5"}, {"local", 6, "@6"}, {"", 0, "local"}, {"anna", 0, "local"}} {
		if got := Folder(c.name, c.id); got != c.want {
			t.Errorf("Folder(%q, %d) = %q, want %q", c.name, c.id, got, c.want)
		}
	}
}

// Place moves into YYYY/MM and never over another file.
func TestPlace(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "anna")
	when := time.Date(2019, 7, 4, 12, 0, 0, 0, time.UTC)
	var rels []string
	for i, body := range []string{"one", "two"} {
		src := filepath.Join(dir, "tmp"+string(rune('a'+i)))
		if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		rel, err := Place(src, root, when, "IMG.jpg")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(src); !os.IsNotExist(err) {
			t.Errorf("the upload is still at %s: %v", src, err)
		}
		rels = append(rels, rel)
	}
	if rels[0] != "2019/07/IMG.jpg" || rels[1] != "2019/07/IMG-2.jpg" {
		t.Fatalf("placed at %v", rels)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "2019/07/IMG.jpg")); string(b) != "one" {
		t.Fatalf("the first file was overwritten: %q", b)
	}
}
