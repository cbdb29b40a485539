// Package thumbs keeps the files made at index time, named by photo id:
// the WebP thumbnail, the JPEG preview, the browser conversion of a video,
// and a note of where the original lives and which file it was. Serving
// them needs no database: the id is the whole address. They live in a
// folder (under the data folder, or one every process shares), or as
// objects on S3-compatible storage read through a local cache
// (objstore.Cache): jobs write and the web reads through the same Store
// without knowing which. Everything in a folder is private to Shoebox's
// user (folders 0700, files 0600): a photo library is nobody else's
// business on a shared machine.
package thumbs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/objstore"
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

// Store is where the per-photo files live: the folder Dir, or, when made
// by Remote, objects read through a cache.
type Store struct {
	Dir    string
	remote *objstore.Cache
}

// Remote is a store of objects on c's bucket, read through c.
func Remote(c *objstore.Cache) Store { return Store{remote: c} }

// Cache is the cache of a remote store; nil for a folder.
func (s Store) Cache() *objstore.Cache { return s.remote }

// String says where the files live, for logs and shoebox doctor.
func (s Store) String() string {
	if s.remote != nil {
		return fmt.Sprint(s.remote.Bucket())
	}
	return s.Dir
}

// opTimeout bounds one request to a remote store made by a method without
// a context of its own (the store's methods predate remote stores, and
// templates call Has).
const opTimeout = time.Minute

func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// key names kind of photo id in a remote store.
func key(id string, kind Kind) string { return id[:2] + "/" + id + "." + string(kind) }

// Path is where kind of photo id lives in a folder store (only: a remote
// store has no path; use Open). The id must be valid (ValidID).
func (s Store) Path(id string, kind Kind) string {
	return filepath.Join(s.Dir, id[:2], id+"."+string(kind))
}

// Open opens kind of photo id (from the cache, for a remote store): an
// error satisfying errors.Is(err, fs.ErrNotExist) when there is none.
func (s Store) Open(ctx context.Context, id string, kind Kind) (*os.File, error) {
	if !library.ValidID(id) {
		return nil, fmt.Errorf("thumbs: invalid id %q: %w", id, fs.ErrNotExist)
	}
	if s.remote == nil {
		return os.Open(s.Path(id, kind))
	}
	f, _, err := s.remote.Open(ctx, key(id, kind))
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("thumbs: %s of %s: %w", kind, id, fs.ErrNotExist)
	}
	return f, err
}

// ReadFile reads kind of photo id whole.
func (s Store) ReadFile(ctx context.Context, id string, kind Kind) ([]byte, error) {
	f, err := s.Open(ctx, id, kind)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Local gives a file name holding kind of photo id, for a program that
// wants one (the model reads previews by name), and what to call once done
// with it: the file itself in a folder store, a private copy otherwise.
func (s Store) Local(ctx context.Context, id string, kind Kind) (string, func(), error) {
	if s.remote == nil {
		p := s.Path(id, kind)
		if _, err := os.Stat(p); err != nil {
			return "", nil, err
		}
		return p, func() {}, nil
	}
	f, err := s.Open(ctx, id, kind)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	tmp, err := s.remote.TempFile()
	if err != nil {
		return "", nil, err
	}
	_, err = io.Copy(tmp, f)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", nil, fmt.Errorf("thumbs: copy %s of %s: %w", kind, id, err)
	}
	return tmp.Name(), func() { os.Remove(tmp.Name()) }, nil
}

// WriteWith stores kind of photo id as made by make, which writes the file
// at the path it is given (atomically: a reader must never see half of
// it): in place in a folder store, a temporary file sent to a remote one.
func (s Store) WriteWith(id string, kind Kind, make func(path string) error) error {
	if !library.ValidID(id) {
		return fmt.Errorf("thumbs: invalid id %q", id)
	}
	if s.remote == nil {
		p := s.Path(id, kind)
		if err := os.MkdirAll(filepath.Dir(p), dirMode); err != nil {
			return fmt.Errorf("thumbs: %w", err)
		}
		return make(p)
	}
	tmp, err := s.remote.TempFile()
	if err != nil {
		return err
	}
	tmp.Close()
	if err := make(tmp.Name()); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	ctx, cancel := opContext()
	defer cancel()
	return s.remote.PutFile(ctx, key(id, kind), tmp.Name())
}

// Write stores data atomically (temp file + rename, or one PUT), so a
// reader never sees half a file and a crash never leaves one.
func (s Store) Write(id string, kind Kind, data []byte) error {
	if !library.ValidID(id) {
		return fmt.Errorf("thumbs: invalid id %q", id)
	}
	if s.remote != nil {
		ctx, cancel := opContext()
		defer cancel()
		return s.remote.Put(ctx, key(id, kind), bytes.NewReader(data))
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

// Has says whether kind of photo id is there (a remote store that cannot
// be reached, and never could for it, says no).
func (s Store) Has(id string, kind Kind) bool {
	if !library.ValidID(id) {
		return false
	}
	if s.remote != nil {
		ctx, cancel := opContext()
		defer cancel()
		ok, _ := s.remote.Has(ctx, key(id, kind))
		return ok
	}
	_, err := os.Stat(s.Path(id, kind))
	return err == nil
}

// RemoveKind deletes kind of photo id, if it is there.
func (s Store) RemoveKind(id string, kind Kind) {
	if !library.ValidID(id) {
		return
	}
	if s.remote != nil {
		ctx, cancel := opContext()
		defer cancel()
		s.remote.Remove(ctx, key(id, kind))
		return
	}
	os.Remove(s.Path(id, kind))
}

// Remove deletes every file of a photo that is gone.
func (s Store) Remove(id string) {
	if !library.ValidID(id) {
		return
	}
	for _, k := range []Kind{Thumb, Preview, Source, Transcode, Converting} {
		s.RemoveKind(id, k)
	}
}

// CleanTemp removes half-written files left by a process killed in the
// middle of Write (older than age, so a live writer's are spared). A
// remote store has none (a PUT is whole or nothing).
func (s Store) CleanTemp(age time.Duration) int {
	if s.remote != nil {
		return 0
	}
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
	if s.remote != nil {
		return 0, nil
	}
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
