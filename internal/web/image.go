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

	"shoebox/internal/library"
	"shoebox/internal/thumbs"
)

// image serves a thumbnail or preview: a file named by the id, no SQL. The
// bytes for an id never change, so browsers may keep them forever.
func (s *Server) image(kind thumbs.Kind) http.HandlerFunc {
	ctype, tag := "image/webp", "t"
	if kind == thumbs.Preview {
		ctype, tag = "image/jpeg", "p"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !library.ValidID(id) {
			http.NotFound(w, r)
			return
		}
		etag := `"` + id + "-" + tag + `"`
		h := w.Header()
		if etagMatch(r.Header.Get("If-None-Match"), etag) {
			h.Set("ETag", etag)
			w.WriteHeader(http.StatusNotModified)
			return
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
		h.Set("Content-Type", ctype)
		h.Set("Content-Length", itoa(fi.Size()))
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", etag)
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			io.Copy(w, f) // sendfile; a hang-up just ends it
		}
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
