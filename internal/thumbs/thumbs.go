// Package thumbs keeps the files made at index time, named by photo id
// under the data folder: the WebP thumbnail, the JPEG preview, and a note of
// where the original lives. Serving them needs no database: the id is the
// whole address, and the content never changes for an id.
package thumbs

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"shoebox/internal/library"
)

// Kind is one of the files kept for a photo.
type Kind string

const (
	Thumb   Kind = "thumb.webp"
	Preview Kind = "preview.jpg"
	Source  Kind = "src" // the absolute path of an original holding the photo
)

// Store is a folder of per-photo files.
type Store struct{ Dir string }

// Path is where kind of photo id lives. The id must be valid (ValidID).
func (s Store) Path(id string, kind Kind) string {
	return filepath.Join(s.Dir, id[:2], id+"."+string(kind))
}

// Write stores data atomically (temp file + rename), so a reader never sees
// half a file and a crash never leaves one.
func (s Store) Write(id string, kind Kind, data []byte) error {
	if !library.ValidID(id) {
		return fmt.Errorf("thumbs: invalid id %q", id)
	}
	p := s.Path(id, kind)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("thumbs: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("thumbs: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(f.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("thumbs: write %s: %w", p, werr)
	}
	return nil
}

// SourcePath returns where the original of id was last seen.
func (s Store) SourcePath(id string) (string, error) {
	b, err := os.ReadFile(s.Path(id, Source))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Remove deletes every file of a photo that is gone.
func (s Store) Remove(id string) {
	if !library.ValidID(id) {
		return
	}
	for _, k := range []Kind{Thumb, Preview, Source} {
		os.Remove(s.Path(id, k))
	}
}

// CleanTemp removes half-written files left by a process killed in the
// middle of Write (older than age, so a live writer's are spared).
func (s Store) CleanTemp(age time.Duration) int {
	n := 0
	dirs, _ := os.ReadDir(s.Dir)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		tmps, _ := filepath.Glob(filepath.Join(s.Dir, d.Name(), ".tmp-*"))
		for _, t := range tmps {
			if fi, err := os.Stat(t); err == nil && time.Since(fi.ModTime()) > age && os.Remove(t) == nil {
				n++
			}
		}
	}
	return n
}
