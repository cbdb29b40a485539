package web

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/media"
	"shoebox/internal/thumbs"
)

// memImage is a thumbnail or preview ready to answer with: its header
// values made once (when it is read from disk), so a cached thumbnail costs
// no allocation, formatting or file system call per request.
type memImage struct {
	body []byte // nil: streamed from the file
	// until ends the entry's life in the thumbnail cache (unix ns): with
	// media on a remote store, the cache's TTL, so that the memory copy
	// keeps the staleness rule of objstore.Cache. 0: forever (a folder
	// store: the bytes of an id never change).
	until  int64
	ctype  []string
	etag   []string
	length []string
}

// image serves a thumbnail or preview: a file named by the id, no SQL. The
// bytes for an id never change, so browsers may keep them forever, and
// Shoebox keeps the most recently asked-for thumbnails in memory (see
// thumbCache), so a gallery's worth of them costs no file system call.
func (s *Server) image(kind thumbs.Kind) http.HandlerFunc {
	ctype, suffix := webpType, `-t"`
	if kind == thumbs.Preview {
		ctype, suffix = jpegType, `-p"`
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !library.ValidID(id) {
			http.NotFound(w, r)
			return
		}
		if kind == thumbs.Thumb {
			if im, ok := s.thumbs.get(id); ok && (im.until == 0 || s.store.Cache().Now().UnixNano() < im.until) {
				im.serve(w, r, nil, s.accountsExist())
				return
			}
		}
		f, err := s.store.Open(r.Context(), id, kind)
		if err != nil {
			// Not made yet (still indexing) or not a photo, or the media
			// store out of reach: don't let it be cached.
			w.Header()["Cache-Control"] = noStore
			if !errors.Is(err, fs.ErrNotExist) {
				s.log.Warn("media store", "id", id, "kind", kind, "err", err)
				w.Header().Set("Retry-After", "10")
				http.Error(w, "media store unavailable", http.StatusServiceUnavailable)
				return
			}
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		im := &memImage{ctype: ctype, etag: []string{`"` + id + suffix}, length: []string{strconv.FormatInt(fi.Size(), 10)}}
		if c := s.store.Cache(); c != nil {
			im.until = c.Now().Add(c.TTL()).UnixNano()
		}
		if kind == thumbs.Thumb && fi.Size() <= maxCachedThumb {
			b := make([]byte, fi.Size())
			if _, err := io.ReadFull(f, b); err == nil {
				im.body = b
				s.thumbs.put(id, im)
				im.serve(w, r, nil, s.accountsExist())
				return
			}
			f.Seek(0, io.SeekStart)
		}
		im.serve(w, r, f, s.accountsExist())
	}
}

// serve answers with im: 304 when the client holds it already, else its
// body from memory, or from file when it has none (sendfile; a hang-up just
// ends it). private: accounts exist, so no shared cache may keep it.
func (im *memImage) serve(w http.ResponseWriter, r *http.Request, file io.Reader, private bool) {
	h := w.Header()
	h["Etag"] = im.etag
	if inm, ok := r.Header["If-None-Match"]; ok && etagMatch(inm, im.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = im.ctype
	h["Content-Length"] = im.length
	h["Cache-Control"] = immutable
	if private {
		h["Cache-Control"] = privateImmutable
	}
	w.WriteHeader(http.StatusOK)
	switch {
	case r.Method == http.MethodHead:
	case file != nil:
		io.Copy(w, file)
	default:
		w.Write(im.body)
	}
}

// Header values shared by every answer: set without allocating.
var (
	webpType         = []string{"image/webp"}
	jpegType         = []string{"image/jpeg"}
	immutable        = []string{"public, max-age=31536000, immutable"}
	privateImmutable = []string{"private, max-age=31536000, immutable"}
	noStore          = []string{"no-store"}
)

// maxCachedThumb is the largest thumbnail kept in memory; a 250 px WebP is
// about 10 kB.
const maxCachedThumb = 64 << 10

// maxRanges is the most parts of a Range request honoured; more are ignored
// and the whole file is sent (nginx's max_ranges): a request for thousands
// of tiny parts would otherwise cost far more than the file in part headers
// and CPU. Browsers and players ask for one.
const maxRanges = 16

// staleNudgeEvery is how often at most a changed original asks for a
// rescan: the rescan settles every changed file at once, and a client
// asking for one again and again must not keep the scanner busy.
const staleNudgeEvery = 30 * time.Second

// OnStaleOriginal sets what the server calls, at most every
// staleNudgeEvery and without waiting for it, when an original is no longer
// the file indexed (replaced, moved, swapped for a link): a nudge to rescan
// the libraries. fn must not block. Call it before serving.
func (s *Server) OnStaleOriginal(fn func()) { s.staleOriginal = fn }

// original serves the photo's original file, found through the note kept
// beside its thumbnail: no SQL. It serves the file only while it is still
// the one indexed (device, inode, size, modification time, last component
// not a link); otherwise 404, and a rescan is asked for. Range requests
// work (large files), up to maxRanges parts.
func (s *Server) original(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !library.ValidID(id) {
		http.NotFound(w, r)
		return
	}
	f, o, err := s.store.OpenSource(r.Context(), id)
	if err != nil {
		if o.Path != "" { // a photo whose file is gone or changed: let a scan settle it
			s.originalChanged(id, err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	h := w.Header()
	ext := strings.ToLower(filepath.Ext(o.Path))
	ctype := mime.TypeByExtension(ext)
	switch ext {
	case ".heic", ".heif":
		ctype = "image/heif"
	case ".avif":
		ctype = "image/avif"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	name := filepath.Base(o.Path)
	if user, ok := r.Context().Value(mediaUserKey{}).(int64); ok && !s.vis.ownsPath(user, o.Path) {
		// The same content in another user's library: served (it is the
		// same photo), but under its id, not the name they gave it.
		name = id + ext
	}
	if sh, ok := r.Context().Value(shareMediaKey{}).(*liveShare); ok {
		name = id + ext // a link's visitor never learns a file name
		if !sh.meta {
			s.originalStripped(w, f, ctype, name)
			return
		}
	}
	h.Set("Content-Disposition", "inline; filename*=UTF-8''"+url.PathEscape(name))
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+id+`-o"`)
	if rng := r.Header.Get("Range"); strings.Count(rng, ",") >= maxRanges {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", time.Unix(0, o.MTime), f)
}

// originalStripped sends an original without its metadata (camera, GPS,
// dates), for a share link that hides them: JPEG and PNG only, streamed
// as it is read (no Range, no length); others are refused with a reason.
func (s *Server) originalStripped(w http.ResponseWriter, f io.Reader, ctype, name string) {
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	if !media.CanStrip(head[:n]) {
		http.Error(w, "this original cannot be sent without its metadata, which this link hides: only JPEG and PNG can", http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	h["Cache-Control"] = noStore
	if err := media.StripMetadata(w, io.MultiReader(bytes.NewReader(head[:n]), f)); err != nil {
		s.log.Warn("original without metadata: cut short", "err", err)
	}
}

// originalChanged asks for a rescan (throttled, never waiting for it).
func (s *Server) originalChanged(id string, err error) {
	now := time.Now().UnixNano()
	last := s.staleAt.Load()
	if s.staleOriginal == nil || now-last < int64(staleNudgeEvery) || !s.staleAt.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("original is not the file indexed; rescan asked for", "id", id, "err", err)
	s.staleOriginal()
}

// etagMatch says whether an If-None-Match header (its values) names etag,
// weakly compared, without allocating.
func etagMatch(values []string, etag string) bool {
	for _, v := range values {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.TrimSpace(t)
			if t == etag || t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}
