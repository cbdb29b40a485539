// Package upload is Shoebox's side of uploads that is not HTTP: where an
// uploaded file goes (each user's upload library under <data>/uploads/,
// or under uploads/ in the media bucket when media are on S3; YYYY/MM
// folders, a safe unique name), the check of its content before it
// is kept, and a tus client for `shoebox upload` (client.go).
//
// Uploaded files are the only files Shoebox ever deletes: the scan of an
// upload library deletes those whose photos the owner emptied from the
// trash (jobs.PurgeTrash, jobs.EmptyTrash).
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"shoebox/internal/library"
	"shoebox/internal/media"
	"shoebox/internal/objstore"
)

// TusDir is the folder, under the uploads folder, where tus keeps uploads
// in progress. It is hidden, so no scan ever walks it, and on the same
// filesystem as the libraries, so a finished upload is moved by rename.
const TusDir = ".tus"

// BucketFolder is the folder of objects, in the media bucket, that holds
// the upload libraries when media are on S3.
const BucketFolder = "uploads"

// LocalFolder is the folder of the local user's uploads (no accounts).
const LocalFolder = "local"

// Folder is the name of the folder, under the uploads folder, for the
// uploads of the account name (id): the name itself when it is a plain
// folder name, else "@id" ('@' is in no account name, so no two collide).
// Account names may be "..", ".tus" or "local".
func Folder(name string, id int64) string {
	if id == 0 {
		return LocalFolder
	}
	if name == "" || name == LocalFolder || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
		return "@" + strconv.FormatInt(id, 10)
	}
	return name
}

// Kind says whether name is a photo or a video Shoebox indexes ("" when
// neither): its extension decides, as in a library folder.
func Kind(name string) string {
	switch {
	case library.IsPhoto(name):
		return "photo"
	case library.IsVideo(name):
		return "video"
	}
	return ""
}

// ErrRefused wraps every reason a file's content is refused.
var ErrRefused = errors.New("refused")

// Check decodes the file at path as the photo or video its name says it
// is, with the bounds indexing has (pixel bombs, too many pixels, hostile
// videos), and refuses it (ErrRefused, with the reason) when it is not
// one, is damaged or truncated. It returns what the file says about when
// it was taken (zero when nothing does).
func Check(ctx context.Context, path, name string, o media.Options) (time.Time, error) {
	var (
		r   *media.Result
		err error
	)
	// Small images suffice to know it decodes (every byte is still read:
	// JPEG shrinks on load, so truncation is still seen); the indexing job
	// makes the real ones.
	if o.PreviewSize == 0 {
		o.PreviewSize, o.ThumbSize = 128, 64
	}
	switch Kind(name) {
	case "photo":
		r, err = media.Process(ctx, path, o)
	case "video":
		r, err = media.ProcessVideo(ctx, path, o)
	default:
		return time.Time{}, fmt.Errorf("%w: %q is not a photo or video type Shoebox indexes", ErrRefused, filepath.Ext(name))
	}
	if err != nil {
		if ctx.Err() != nil {
			return time.Time{}, err
		}
		return time.Time{}, fmt.Errorf("%w: not a readable %s: %s", ErrRefused, Kind(name), withoutPath(err, path))
	}
	if r.Damage != "" {
		return time.Time{}, fmt.Errorf("%w: damaged or truncated %s: %s", ErrRefused, Kind(name), r.Damage)
	}
	return r.Meta.TakenAt, nil
}

// withoutPath is err's text without the temporary file's path.
func withoutPath(err error, path string) string {
	s := strings.ReplaceAll(err.Error(), "media: "+path+": ", "")
	return strings.ReplaceAll(s, path, "the file")
}

// SafeName is the client's file name made safe to store: its last path
// element only, without control characters, leading dots or characters
// file systems refuse, at most 100 bytes before its extension (lower-cased).
// A name with nothing left is "upload".
func SafeName(client string) string {
	client = strings.ToValidUTF8(client, "")
	if i := strings.LastIndexAny(client, `/\`); i >= 0 {
		client = client[i+1:]
	}
	ext := strings.ToLower(filepath.Ext(client))
	base := strings.TrimSuffix(client, filepath.Ext(client))
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case unicode.IsControl(r), strings.ContainsRune(`<>:"|?*/\`, r), r == utf8.RuneError:
				return -1
			case unicode.IsSpace(r):
				return ' '
			}
			return r
		}, s)
	}
	base = strings.Trim(clean(base), ". ")
	ext = clean(ext)
	for len(base) > 100 {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	if base == "" {
		base = "upload"
	}
	return base + ext
}

// Place moves the finished upload src into root's folder for the month of
// when (YYYY/MM), under name or, when a file has it, name with "-2", "-3"…
// added: never over another file. It is a hard link then the removal of
// src (atomic, within the filesystem of root and src), or a rename where
// links are not supported. It returns the slash-separated path under root.
func Place(src, root string, when time.Time, name string) (string, error) {
	month := filepath.Join(when.Format("2006"), when.Format("01"))
	if err := os.MkdirAll(filepath.Join(root, month), 0o750); err != nil {
		return "", fmt.Errorf("place upload: %w", err)
	}
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		n := name
		if i > 1 {
			n = base + "-" + strconv.Itoa(i) + ext
		}
		dst := filepath.Join(root, month, n)
		err := os.Link(src, dst)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			// No hard links here: rename, having checked the name is free
			// (two uploads of one user racing for one name is the worst).
			if _, serr := os.Lstat(dst); serr == nil {
				continue
			}
			if err := os.Rename(src, dst); err != nil {
				return "", fmt.Errorf("place upload: %w", err)
			}
		} else if err := os.Remove(src); err != nil {
			return "", fmt.Errorf("place upload: %w", err)
		}
		return filepath.ToSlash(filepath.Join(month, n)), nil
	}
	return "", fmt.Errorf("place upload: no free name for %s", name)
}

// PlaceObject stores the finished upload src as an object of the upload
// library whose objects are under prefix in b (a key, no trailing slash),
// in the folder of the month of when, under name or name-2, name-3…:
// never over another object (created only where none is, so two uploads
// racing for one name each get their own). It returns the path under the
// library's root and the object stored. src stays: the caller removes it.
func PlaceObject(ctx context.Context, b objstore.Bucket, src, prefix string, when time.Time, name string) (string, objstore.Info, error) {
	f, err := os.Open(src)
	if err != nil {
		return "", objstore.Info{}, fmt.Errorf("place upload: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", objstore.Info{}, fmt.Errorf("place upload: %w", err)
	}
	month := when.Format("2006") + "/" + when.Format("01")
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		n := name
		if i > 1 {
			n = base + "-" + strconv.Itoa(i) + ext
		}
		rel := month + "/" + n
		key := prefix + "/" + rel
		// A HEAD first: taken names cost no upload of the bytes.
		if _, err := b.Stat(ctx, key); err == nil {
			continue
		} else if !errors.Is(err, objstore.ErrNotFound) {
			return "", objstore.Info{}, fmt.Errorf("place upload: %w", err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", objstore.Info{}, fmt.Errorf("place upload: %w", err)
		}
		if _, err := b.Create(ctx, key, f, fi.Size()); errors.Is(err, objstore.ErrExists) {
			continue // taken meanwhile
		} else if err != nil {
			return "", objstore.Info{}, fmt.Errorf("place upload: %w", err)
		}
		// Its size, version and time as a listing gives them (the scan
		// of the library compares them with the row).
		info, err := b.Stat(ctx, key)
		if err != nil {
			return "", objstore.Info{}, fmt.Errorf("place upload: %w", err)
		}
		return rel, info, nil
	}
	return "", objstore.Info{}, fmt.Errorf("place upload: no free name for %s", name)
}
