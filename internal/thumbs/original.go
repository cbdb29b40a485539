package thumbs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"shoebox/internal/objstore"
)

// Original is the note kept for a photo: where its original lives and which
// file it was when indexed. The identity (device, inode, size, modification
// time) lets /original refuse a file replaced since then — by a link to
// /etc/passwd, say — without asking the database.
type Original struct {
	Path  string `json:"path"` // the file as the library holds it; its name is the download name
	Real  string `json:"real"` // Path with every link resolved: what is opened
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
	// Object, for an original kept as an object in the media bucket (an
	// upload, with media on S3), is its key; Path is then its s3:// URL,
	// and ETag the version indexed, which alone is served.
	Object string `json:"object,omitempty"`
	ETag   string `json:"etag,omitempty"`
	// Video is set when the original is a video: how /video serves it,
	// decided at index time so that serving needs no database.
	Video *Video `json:"video,omitempty"`
}

// Video is what /video needs to know of a video original.
type Video struct {
	// Playable: browsers play the file as it is (H.264 with AAC, MP3 or no
	// sound, in MP4, M4V or MOV); otherwise it must be transcoded first.
	Playable bool   `json:"playable"`
	MIME     string `json:"mime"` // the Content-Type it is served with
}

var (
	// ErrChanged says the file at the noted place is no longer the one
	// indexed (replaced, swapped for a link, rewritten): a rescan will tell
	// what it is now.
	ErrChanged = errors.New("thumbs: original changed since it was indexed")
	// ErrUnverified says the note was written by a Shoebox older than the
	// identity check (a bare path): the file cannot be vouched for until a
	// scan rewrites the note.
	ErrUnverified = errors.New("thumbs: original not verifiable (note without identity)")
)

// WriteSource notes path as the original of photo id, with the identity of
// the file it is now (links resolved) and, for a video, how it is served
// (nil for a photo).
func (s Store) WriteSource(id, path string, video *Video) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fmt.Errorf("thumbs: note original: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("thumbs: note original: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("thumbs: note original %s: not a regular file", path)
	}
	o := identity(fi)
	o.Path, o.Real, o.Video = path, real, video
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("thumbs: note original: %w", err)
	}
	return s.Write(id, Source, b)
}

// WriteSourceObject notes the object at key in the media bucket (version
// info, address url) as the original of photo id; video as in WriteSource.
func (s Store) WriteSourceObject(id, url, key string, info objstore.Info, video *Video) error {
	if s.remote == nil {
		return fmt.Errorf("thumbs: note original %s: an object, but media are not on S3", url)
	}
	o := Original{Path: url, Object: key, ETag: info.ETag, Size: info.Size, MTime: info.Modified.UnixNano(), Video: video}
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("thumbs: note original: %w", err)
	}
	return s.Write(id, Source, b)
}

// ReadSource reads the note of photo id. A note from an older Shoebox (the
// bare path) comes back with Path only: see Verified.
func (s Store) ReadSource(id string) (Original, error) {
	ctx, cancel := opContext()
	defer cancel()
	b, err := s.ReadFile(ctx, id, Source)
	if err != nil {
		return Original{}, err
	}
	if len(b) == 0 || b[0] != '{' {
		return Original{Path: string(b)}, nil
	}
	var o Original
	if err := json.Unmarshal(b, &o); err != nil {
		return Original{}, fmt.Errorf("thumbs: note of %s: %w", id, err)
	}
	return o, nil
}

// Verified says whether the note carries the identity of its file.
func (o Original) Verified() bool {
	return o.Real != "" && o.Ino != 0 || o.Object != "" && o.ETag != ""
}

// OpenSource opens the original of photo id if, and only if, it is still
// the file indexed: opened without following a link in its last component
// (a file swapped for a link fails), without blocking (a file swapped for a
// FIFO fails), and the same device, inode, size and modification time as
// noted. Otherwise: ErrChanged or ErrUnverified, or the error of reading
// the note or opening the file (os.ErrNotExist when either is gone).
//
// An original kept as an object is read from the bucket as it is sent
// (ranged GETs, nothing copied here first), and only the version noted:
// ErrChanged when it was rewritten, os.ErrNotExist when it is gone. The
// reader lives as long as ctx. A file opened is an *os.File.
func (s Store) OpenSource(ctx context.Context, id string) (io.ReadSeekCloser, Original, error) {
	o, err := s.ReadSource(id)
	if err != nil {
		return nil, o, err
	}
	if !o.Verified() {
		return nil, o, ErrUnverified
	}
	if o.Object != "" {
		if s.remote == nil {
			return nil, o, fmt.Errorf("thumbs: original %s is an object, but media are not on S3: %w", o.Path, os.ErrNotExist)
		}
		r, _, err := s.remote.Bucket().Open(ctx, o.Object, o.ETag)
		switch {
		case errors.Is(err, objstore.ErrChanged):
			return nil, o, ErrChanged
		case errors.Is(err, objstore.ErrNotFound):
			return nil, o, fmt.Errorf("thumbs: open original: %w", os.ErrNotExist)
		case err != nil:
			return nil, o, fmt.Errorf("thumbs: open original: %w", err)
		}
		return r, o, nil
	}
	f, err := os.OpenFile(o.Real, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, o, ErrChanged
	}
	if err != nil {
		return nil, o, fmt.Errorf("thumbs: open original: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, o, fmt.Errorf("thumbs: open original: %w", err)
	}
	if got := identity(fi); !fi.Mode().IsRegular() || got.Dev != o.Dev || got.Ino != o.Ino || got.Size != o.Size || got.MTime != o.MTime {
		f.Close()
		return nil, o, ErrChanged
	}
	return f, o, nil
}

// identity reads device, inode, size and modification time from fi.
func identity(fi os.FileInfo) Original {
	o := Original{Size: fi.Size(), MTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		o.Dev, o.Ino = uint64(st.Dev), st.Ino
	}
	return o
}
