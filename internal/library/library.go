// Package library finds photos in library folders: a recursive walk that
// follows symlinked folders without looping (and, if asked, never out of
// the library), and content hashing that gives
// each distinct photo its id. It only ever reads a library folder: those
// are read-only to Shoebox. An upload library may be a folder of objects
// on S3 instead (source.go), and its files are the only ones ever removed.
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

// VideoExtensions are the video types Shoebox indexes (lower-case, with
// dot): the containers phones and cameras write.
var VideoExtensions = map[string]bool{
	".mp4": true, ".mov": true, ".m4v": true, ".3gp": true, ".mkv": true, ".webm": true, ".avi": true,
}

// IsPhoto reports whether name has a photo's extension.
func IsPhoto(name string) bool { return Extensions[strings.ToLower(filepath.Ext(name))] }

// IsVideo reports whether name has a video's extension.
func IsVideo(name string) bool { return VideoExtensions[strings.ToLower(filepath.Ext(name))] }

// Indexed reports whether name is a file Shoebox indexes: a photo or a video.
func Indexed(name string) bool { return IsPhoto(name) || IsVideo(name) }

// Entry is one photo file found by Walk.
type Entry struct {
	RelPath string // slash-separated, relative to the library root
	Size    int64
	MTime   time.Time
	Err     error  // set when the file cannot be used (unreadable, bad name)
	ETag    string // an object's version (Objects); "" for a file
}

// WalkOptions say what Walk leaves out.
type WalkOptions struct {
	// Skip are folders never indexed, such as the data folder. They are
	// recognised by identity (device and inode), so a symlink or a bind
	// mount that leads into one, or into anything under one, is skipped too:
	// a library that links to the data folder would otherwise index its own
	// thumbnails on every rescan.
	Skip []string
	// StayInside skips symlinks (to files or folders) that lead outside
	// root. Without it, symlinked folders are followed once each wherever
	// they lead.
	StayInside bool
	// Outside, when set, is called with the relative path of every symlink
	// that leads outside root, whether followed or not.
	Outside func(rel string)
}

// Walk calls fn for every photo file under root. Hidden entries (".name")
// and the folders in o.Skip are not visited; symlinked folders are followed
// once each, so a symlink loop ends instead of recursing forever.
func Walk(ctx context.Context, root string, o WalkOptions, fn func(Entry) error) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("library %s: %w", root, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("library %s: not a folder", root)
	}
	w := walker{root: identity(fi), opts: o, skip: map[fileID]bool{}, seen: map[fileID]bool{}, fn: fn}
	for _, s := range o.Skip {
		if fi, err := os.Stat(s); err == nil {
			w.skip[identity(fi)] = true
		}
	}
	w.seen[w.root] = true
	return w.dir(ctx, root, "")
}

// OutsideLinks walks root as Walk does (staying inside) and returns how
// many symlinks under it lead outside it, with up to n of their paths.
func OutsideLinks(ctx context.Context, root string, n int) (count int, examples []string, err error) {
	err = Walk(ctx, root, WalkOptions{StayInside: true, Outside: func(rel string) {
		count++
		if len(examples) < n {
			examples = append(examples, rel)
		}
	}}, func(Entry) error { return nil })
	return count, examples, err
}

// fileID is a file's identity: device and inode.
type fileID [2]uint64

func identity(fi fs.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{uint64(st.Dev), st.Ino}
}

type walker struct {
	root fileID
	opts WalkOptions
	skip map[fileID]bool // folders never entered, nor anything under them
	seen map[fileID]bool // folders visited
	fn   func(Entry) error
}

// under reports, for the folder dir (reached through a symlink), whether
// it or one of its parents is root, and whether one is a skipped folder.
// Parents are found by identity ("dir/.." as the kernel resolves it, after
// the links), not by comparing path strings.
func (w *walker) under(dir string) (inside, skipped bool) {
	p := dir
	for range 512 {
		fi, err := os.Stat(p)
		if err != nil {
			return inside, skipped
		}
		id := identity(fi)
		inside = inside || id == w.root
		skipped = skipped || w.skip[id]
		parent, err := os.Stat(p + "/..")
		if err != nil || identity(parent) == id {
			return inside, skipped // "/" is its own parent
		}
		p += "/.."
	}
	return inside, skipped
}

// link decides whether the symlink at abs (whose target is a folder when
// isDir) is followed: not when it leads into a skipped folder, nor outside
// root when staying inside.
func (w *walker) link(abs, rel string, isDir bool) bool {
	dir := abs
	if !isDir {
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return false
		}
		dir = filepath.Dir(real)
	}
	inside, skipped := w.under(dir)
	if !inside && w.opts.Outside != nil {
		w.opts.Outside(rel)
	}
	return !skipped && (inside || !w.opts.StayInside)
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
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			fi, err := os.Stat(childAbs) // follow the link
			if err != nil {
				if Indexed(name) {
					if err := w.emit(Entry{RelPath: childRel, Err: fmt.Errorf("broken link: %w", unwrapPath(err))}); err != nil {
						return err
					}
				}
				continue
			}
			if !fi.IsDir() && !Indexed(name) {
				continue
			}
			if !w.link(childAbs, childRel, fi.IsDir()) {
				continue
			}
			typ = fi.Mode().Type()
			if fi.IsDir() {
				if id := identity(fi); w.seen[id] {
					continue // already visited: a loop or a second link to it
				} else {
					w.seen[id] = true
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
			if err != nil {
				continue
			}
			// A folder met for the second time (a bind mount), or the data
			// folder itself inside a library, is not entered.
			if id := identity(fi); w.seen[id] || w.skip[id] {
				continue
			} else {
				w.seen[id] = true
			}
			if err := w.dir(ctx, childAbs, childRel); err != nil {
				return err
			}
		case typ.IsRegular() || typ&fs.ModeSymlink != 0:
			if !Indexed(name) {
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
