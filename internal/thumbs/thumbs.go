// Package thumbs keeps the files made at index time, named by photo id
// under the data folder: the WebP thumbnail, the JPEG preview, and a note of
// where the original lives and which file it was. Serving them needs no
// database: the id is the whole address, and the content never changes for
// an id. Everything here is private to Shoebox's user (folders 0700, files
// 0600): a photo library is nobody else's business on a shared machine.
package thumbs

import (
	"fmt"
	"io/fs"
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
	Source  Kind = "src" // the note of the original holding the photo (see Original)
	// Transcode is a video converted for browsers (H.264/AAC MP4, no
	// metadata), made by a background job when the original does not play.
	Transcode Kind = "video.mp4"
	// Converting marks a video whose Transcode is queued: /video answers
	// "being converted" (503) rather than "not playable" (415) without
	// asking the database. Removed once the job ends either way.
	Converting Kind = "converting"
)

// Modes of what the store makes.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
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
	if err := os.MkdirAll(filepath.Dir(p), dirMode); err != nil {
		return fmt.Errorf("thumbs: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*") // 0600
	if err != nil {
		return fmt.Errorf("thumbs: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
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

// Has says whether kind of photo id is there.
func (s Store) Has(id string, kind Kind) bool {
	if !library.ValidID(id) {
		return false
	}
	_, err := os.Stat(s.Path(id, kind))
	return err == nil
}

// RemoveKind deletes kind of photo id, if it is there.
func (s Store) RemoveKind(id string, kind Kind) {
	if library.ValidID(id) {
		os.Remove(s.Path(id, kind))
	}
}

// Remove deletes every file of a photo that is gone.
func (s Store) Remove(id string) {
	if !library.ValidID(id) {
		return
	}
	for _, k := range []Kind{Thumb, Preview, Source, Transcode, Converting} {
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

// Restrict makes a store written by an older Shoebox (folders 0755, files
// 0644) private like a new one: folders 0700, files 0600. Links are left
// alone (the store makes none). It returns how many entries it changed.
func (s Store) Restrict() (int, error) {
	n := 0
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == s.Dir {
				return filepath.SkipAll // nothing written yet
			}
			return err
		}
		want := fileMode
		switch {
		case d.IsDir():
			want = dirMode
		case !d.Type().IsRegular():
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		if fi.Mode().Perm() != want {
			if err := os.Chmod(p, want); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("thumbs: restrict modes: %w", err)
	}
	return n, nil
}
