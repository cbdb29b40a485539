// Package library finds photos in library folders: a recursive walk that
// follows symlinked folders without looping, and content hashing that gives
// each distinct photo its id. It only ever reads: a library is read-only to
// Shoebox.
package library

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Extensions are the file types Shoebox indexes (lower-case, with dot).
var Extensions = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".png": true, ".gif": true, ".webp": true,
	".heic": true, ".heif": true, ".avif": true, ".tif": true, ".tiff": true,
}

// IsPhoto reports whether name has an indexable extension.
func IsPhoto(name string) bool { return Extensions[strings.ToLower(filepath.Ext(name))] }

// Entry is one photo file found by Walk.
type Entry struct {
	RelPath string // slash-separated, relative to the library root
	Size    int64
	MTime   time.Time
	Err     error // set when the file cannot be used (unreadable, bad name)
}

// Walk calls fn for every photo file under root. Hidden entries (".name")
// and the folders in skip are not visited; symlinked folders are followed
// once each, so a symlink loop ends instead of recursing forever.
func Walk(ctx context.Context, root string, skip []string, fn func(Entry) error) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("library %s: %w", root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("library %s: not a folder", root)
	}
	w := walker{root: root, skip: map[string]bool{}, seen: map[[2]uint64]bool{}, fn: fn}
	for _, s := range skip {
		w.skip[filepath.Clean(s)] = true
	}
	w.markSeen(fi)
	return w.dir(ctx, root, "")
}

type walker struct {
	root string
	skip map[string]bool
	seen map[[2]uint64]bool // (device, inode) of folders visited
	fn   func(Entry) error
}

func (w *walker) markSeen(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	k := [2]uint64{uint64(st.Dev), st.Ino}
	if w.seen[k] {
		return false
	}
	w.seen[k] = true
	return true
}

func (w *walker) dir(ctx context.Context, abs, rel string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		// An unreadable folder is reported, not fatal: the rest goes on.
		return w.fn(Entry{RelPath: rel, Err: fmt.Errorf("read folder: %w", err)})
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || name == "@eaDir" {
			continue
		}
		childAbs := filepath.Join(abs, name)
		childRel := name
		if rel != "" {
			childRel = rel + "/" + name
		}
		if w.skip[childAbs] {
			continue
		}
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			fi, err := os.Stat(childAbs) // follow the link
			if err != nil {
				if IsPhoto(name) {
					if err := w.emit(Entry{RelPath: childRel, Err: fmt.Errorf("broken link: %w", unwrapPath(err))}); err != nil {
						return err
					}
				}
				continue
			}
			typ = fi.Mode().Type()
			if fi.IsDir() {
				if !w.markSeen(fi) {
					continue // already visited: a loop or a second link to it
				}
				if err := w.dir(ctx, childAbs, childRel); err != nil {
					return err
				}
				continue
			}
		}
		switch {
		case typ.IsDir():
			fi, err := e.Info()
			if err != nil || !w.markSeen(fi) {
				continue
			}
			if err := w.dir(ctx, childAbs, childRel); err != nil {
				return err
			}
		case typ.IsRegular() || typ&fs.ModeSymlink != 0:
			if !IsPhoto(name) {
				continue
			}
			fi, err := os.Stat(childAbs)
			ent := Entry{RelPath: childRel}
			if err != nil {
				ent.Err = unwrapPath(err)
			} else {
				ent.Size, ent.MTime = fi.Size(), fi.ModTime().UTC().Truncate(time.Microsecond)
			}
			if err := w.emit(ent); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *walker) emit(e Entry) error {
	if !utf8.ValidString(e.RelPath) {
		e.RelPath = strings.ToValidUTF8(e.RelPath, "\uFFFD")
		e.Err = errors.New("file name is not valid UTF-8")
	}
	return w.fn(e)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Hash reads a file and returns its SHA-256 and the photo id derived from
// it: 20 URL-safe characters (letters, digits, '-', '_').
func Hash(path string) (id string, sum []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, unwrapPath(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", nil, fmt.Errorf("read: %w", unwrapPath(err))
	}
	sum = h.Sum(nil)
	return PhotoID(sum), sum, nil
}

// PhotoID derives a photo's id from its content hash.
func PhotoID(sum []byte) string { return base64.RawURLEncoding.EncodeToString(sum[:15]) }

// ValidID reports whether s has the shape of a photo id, so it can be used
// in a file path safely.
func ValidID(s string) bool {
	if len(s) != 20 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
