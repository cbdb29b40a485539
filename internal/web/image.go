package web

import (
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"shoebox/internal/library"
	"shoebox/internal/thumbs"
)

// image serves a thumbnail or preview: a file named by the id, no SQL. The
// bytes for an id never change, so browsers may keep them forever, and
// Shoebox keeps the most asked-for thumbnails in memory (bounded), so a
// gallery's worth of them costs no file system calls at all.
func (s *Server) image(kind thumbs.Kind) http.HandlerFunc {
	ctype, tag := []string{"image/webp"}, "t"
	if kind == thumbs.Preview {
		ctype, tag = []string{"image/jpeg"}, "p"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !library.ValidID(id) {
			http.NotFound(w, r)
			return
		}
		etag := `"` + id + "-" + tag + `"`
		h := w.Header()
		if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
			h["Etag"] = []string{etag}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if kind == thumbs.Thumb {
			if b, ok := s.thumbs.get(id); ok {
				h["Content-Type"] = ctype
				h["Content-Length"] = []string{strconv.Itoa(len(b))}
				h["Cache-Control"] = immutable
				h["Etag"] = []string{etag}
				w.WriteHeader(http.StatusOK)
				if r.Method != http.MethodHead {
					w.Write(b)
				}
				return
			}
		}
		f, err := os.Open(s.store.Path(id, kind))
		if err != nil {
			// Not made yet (still indexing) or not a photo: don't let it be cached.
			h.Set("Cache-Control", "no-store")
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h["Content-Type"] = ctype
		h["Content-Length"] = []string{itoa(fi.Size())}
		h["Cache-Control"] = immutable
		h["Etag"] = []string{etag}
		if kind == thumbs.Thumb && fi.Size() <= maxCachedThumb {
			b := make([]byte, fi.Size())
			if _, err := io.ReadFull(f, b); err == nil {
				s.thumbs.put(id, b)
				w.WriteHeader(http.StatusOK)
				if r.Method != http.MethodHead {
					w.Write(b)
				}
				return
			}
			f.Seek(0, io.SeekStart)
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.Copy(w, f) // sendfile; a hang-up just ends it
		}
	}
}

var immutable = []string{"public, max-age=31536000, immutable"}

const maxCachedThumb = 64 << 10

// thumbCache holds thumbnail bytes by id, up to a byte budget. Thumbnails
// are immutable for their id, so the cache can never be stale; when full it
// is simply emptied (cheap, and the next gallery refills it).
type thumbCache struct {
	mu     sync.RWMutex
	m      map[string][]byte
	size   int
	budget int
}

func newThumbCache(budget int) *thumbCache {
	return &thumbCache{m: map[string][]byte{}, budget: budget}
}

func (c *thumbCache) get(id string) ([]byte, bool) {
	c.mu.RLock()
	b, ok := c.m[id]
	c.mu.RUnlock()
	return b, ok
}

func (c *thumbCache) put(id string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size+len(b) > c.budget {
		clear(c.m)
		c.size = 0
	}
	if _, ok := c.m[id]; !ok {
		c.m[id] = b
		c.size += len(b)
	}
}

// original serves the photo's original file, found through the note kept
// beside its thumbnail: no SQL. Range requests work (large files).
func (s *Server) original(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !library.ValidID(id) {
		http.NotFound(w, r)
		return
	}
	src, err := s.store.SourcePath(id)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(src)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	ext := strings.ToLower(filepath.Ext(src))
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
	h.Set("Content-Disposition", "inline; filename*=UTF-8''"+urlEscape(filepath.Base(src)))
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+id+`-o"`)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == etag || t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func urlEscape(s string) string { return url.PathEscape(s) }
