package thumbs_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"shoebox/internal/thumbs"
)

const id = "AbCdEfGhIjKlMnOpQrSt" // a valid photo id: 20 base64url characters

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	must(t, err)
	return fi.Mode().Perm()
}

// What the store writes is private to Shoebox's user, and a store written
// by an older version (0755 folders, 0644 files) is made so.
func TestModesArePrivate(t *testing.T) {
	s := thumbs.Store{Dir: filepath.Join(t.TempDir(), "media")}
	src := filepath.Join(t.TempDir(), "a.jpg")
	must(t, os.WriteFile(src, []byte("jpeg"), 0o644))
	must(t, s.Write(id, thumbs.Thumb, []byte("webp")))
	must(t, s.Write(id, thumbs.Preview, []byte("jpeg")))
	must(t, s.WriteSource(id, src, nil))
	for _, p := range []string{s.Dir, filepath.Dir(s.Path(id, thumbs.Thumb))} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("folder %s: mode %o, want 700", p, m)
		}
	}
	for _, k := range []thumbs.Kind{thumbs.Thumb, thumbs.Preview, thumbs.Source} {
		if m := mode(t, s.Path(id, k)); m != 0o600 {
			t.Errorf("%s: mode %o, want 600", k, m)
		}
	}

	// As an older Shoebox left them.
	old := "ZZCdEfGhIjKlMnOpQrSt"
	must(t, os.MkdirAll(filepath.Dir(s.Path(old, thumbs.Thumb)), 0o755))
	must(t, os.WriteFile(s.Path(old, thumbs.Thumb), []byte("webp"), 0o644))
	must(t, os.Chmod(s.Dir, 0o755))
	must(t, os.Chmod(s.Path(id, thumbs.Preview), 0o644))
	n, err := s.Restrict()
	must(t, err)
	if n != 4 {
		t.Errorf("Restrict changed %d entries, want 4", n)
	}
	for _, p := range []string{s.Dir, filepath.Dir(s.Path(old, thumbs.Thumb))} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("after Restrict, folder %s: mode %o, want 700", p, m)
		}
	}
	for _, p := range []string{s.Path(old, thumbs.Thumb), s.Path(id, thumbs.Preview)} {
		if m := mode(t, p); m != 0o600 {
			t.Errorf("after Restrict, %s: mode %o, want 600", p, m)
		}
	}
	if n, err := s.Restrict(); err != nil || n != 0 {
		t.Errorf("second Restrict: %d changed, %v; want 0", n, err)
	}
	empty := thumbs.Store{Dir: filepath.Join(t.TempDir(), "not-yet")}
	if n, err := empty.Restrict(); err != nil || n != 0 {
		t.Errorf("Restrict of a store not made yet: %d, %v", n, err)
	}
}

// setupOriginal notes a real file as the original of id.
func setupOriginal(t *testing.T) (thumbs.Store, string) {
	t.Helper()
	s := thumbs.Store{Dir: t.TempDir()}
	src := filepath.Join(t.TempDir(), "IMG_0001.jpg")
	must(t, os.WriteFile(src, []byte("the indexed photo"), 0o644))
	must(t, s.WriteSource(id, src, nil))
	return s, src
}

func readOriginal(t *testing.T, s thumbs.Store) (string, error) {
	t.Helper()
	f, _, err := s.OpenSource(context.Background(), id)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	must(t, err)
	return string(b), nil
}

// The original opens only while it is the very file indexed.
func TestOpenSourceOnlyTheFileIndexed(t *testing.T) {
	t.Run("unchanged", func(t *testing.T) {
		s, src := setupOriginal(t)
		got, err := readOriginal(t, s)
		if err != nil || got != "the indexed photo" {
			t.Fatalf("unchanged original: %q, %v", got, err)
		}
		o, err := s.ReadSource(id)
		if err != nil || o.Path != src || !o.Verified() {
			t.Fatalf("note %+v, %v", o, err)
		}
	})
	t.Run("swapped for a link", func(t *testing.T) {
		s, src := setupOriginal(t)
		must(t, os.Remove(src))
		must(t, os.Symlink("/etc/hostname", src))
		if _, err := readOriginal(t, s); !errors.Is(err, thumbs.ErrChanged) {
			t.Fatalf("original swapped for a link to /etc/hostname: %v, want ErrChanged", err)
		}
	})
	t.Run("same name, another file of the same size and time", func(t *testing.T) {
		s, src := setupOriginal(t)
		fi, err := os.Stat(src)
		must(t, err)
		other := src + ".new"
		must(t, os.WriteFile(other, []byte("THE INDEXED PHOTO"), 0o644))
		must(t, os.Chtimes(other, fi.ModTime(), fi.ModTime()))
		must(t, os.Rename(other, src))
		if _, err := readOriginal(t, s); !errors.Is(err, thumbs.ErrChanged) {
			t.Fatalf("replaced original (new inode): %v, want ErrChanged", err)
		}
	})
	t.Run("rewritten in place", func(t *testing.T) {
		s, src := setupOriginal(t)
		must(t, os.WriteFile(src, []byte("something else entirely"), 0o644))
		if _, err := readOriginal(t, s); !errors.Is(err, thumbs.ErrChanged) {
			t.Fatalf("original rewritten in place: %v, want ErrChanged", err)
		}
	})
	t.Run("swapped for a FIFO", func(t *testing.T) {
		s, src := setupOriginal(t)
		must(t, os.Remove(src))
		must(t, syscall.Mkfifo(src, 0o644))
		done := make(chan error, 1)
		go func() { _, err := readOriginal(t, s); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, thumbs.ErrChanged) {
				t.Fatalf("original swapped for a FIFO: %v, want ErrChanged", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("opening an original swapped for a FIFO blocks")
		}
	})
	t.Run("gone", func(t *testing.T) {
		s, src := setupOriginal(t)
		must(t, os.Remove(src))
		if _, err := readOriginal(t, s); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("original removed: %v, want not-exist", err)
		}
	})
	t.Run("library file that is a link", func(t *testing.T) {
		// A library may hold links to photos elsewhere: the note follows
		// the link once, at index time, and opens its target.
		s := thumbs.Store{Dir: t.TempDir()}
		dir := t.TempDir()
		target := filepath.Join(dir, "real.jpg")
		must(t, os.WriteFile(target, []byte("linked photo"), 0o644))
		link := filepath.Join(dir, "link.jpg")
		must(t, os.Symlink(target, link))
		must(t, s.WriteSource(id, link, nil))
		if got, err := readOriginal(t, s); err != nil || got != "linked photo" {
			t.Fatalf("original through a library link: %q, %v", got, err)
		}
		if o, _ := s.ReadSource(id); o.Path != link {
			t.Fatalf("note path %q, want the library's name %q", o.Path, link)
		}
	})
	t.Run("note of an older Shoebox", func(t *testing.T) {
		s, src := setupOriginal(t)
		must(t, s.Write(id, thumbs.Source, []byte(src)))
		o, err := s.ReadSource(id)
		if err != nil || o.Path != src || o.Verified() {
			t.Fatalf("old note read as %+v, %v", o, err)
		}
		if _, err := readOriginal(t, s); !errors.Is(err, thumbs.ErrUnverified) {
			t.Fatalf("original with an old note: %v, want ErrUnverified", err)
		}
	})
	t.Run("no note", func(t *testing.T) {
		s := thumbs.Store{Dir: t.TempDir()}
		if _, err := readOriginal(t, s); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("photo without a note: %v, want not-exist", err)
		}
	})
}
