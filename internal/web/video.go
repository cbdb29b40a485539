package web

import (
	"io"
	"net/http"
	"strings"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/thumbs"
)

// video plays a video, with Range requests (206) so a player can seek,
// and no SQL: what is served is decided by the files kept beside the
// thumbnail. A video browsers play as it is (the note of its original
// says so, decided at index time) is served from its original, with the
// same guard as /original (the file must still be the one indexed). Any
// other (HEVC, VP9, AV1, MPEG-4 Part 2, or not in MP4) is served from its
// conversion to H.264/AAC MP4 once the background job has made it; until
// then it answers 503 with Retry-After while the job is queued (its
// marker is there), or 415 when it could not be converted. A photo
// answers 404.
//
// A share link that hides metadata plays the conversion (made without
// any metadata) but not an original, which carries the place and date.
func (s *Server) video(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !library.ValidID(id) {
		http.NotFound(w, r)
		return
	}
	o, err := s.store.ReadSource(id)
	if err != nil || o.Video == nil {
		http.NotFound(w, r) // not indexed yet, or a photo
		return
	}
	sh, _ := r.Context().Value(shareMediaKey{}).(*liveShare)
	hidesMeta := sh != nil && !sh.meta
	if !o.Video.Playable {
		s.converted(w, r, id, o.Video.MIME)
		return
	}
	if hidesMeta {
		http.Error(w, "this video carries its metadata (place, date), which this link hides: it cannot be played here", http.StatusForbidden)
		return
	}
	f, o, err := s.store.OpenSource(r.Context(), id)
	if err != nil {
		if o.Path != "" {
			s.originalChanged(id, err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	serveVideo(w, r, f, o.Video.MIME, `"`+id+`-v"`, time.Unix(0, o.MTime))
}

// transcodeRetry is how long a player is told to wait for a conversion.
const transcodeRetry = 30 * time.Second

// converted serves the conversion of video id, or says why there is none.
func (s *Server) converted(w http.ResponseWriter, r *http.Request, id, mime string) {
	f, err := s.store.Open(r.Context(), id, thumbs.Transcode)
	if err == nil {
		defer f.Close()
		fi, err := f.Stat()
		if err == nil {
			serveVideo(w, r, f, "video/mp4", `"`+id+`-t"`, fi.ModTime())
			return
		}
	}
	if s.store.Has(id, thumbs.Converting) {
		w.Header().Set("Retry-After", retryAfter(transcodeRetry))
		http.Error(w, "this video is being converted for browsers; try again in a minute", http.StatusServiceUnavailable)
		return
	}
	http.Error(w, "this video is in a format browsers do not play ("+mime+
		") and could not be converted; download the original to watch it", http.StatusUnsupportedMediaType)
}

// serveVideo sends f with Range support.
func serveVideo(w http.ResponseWriter, r *http.Request, f io.ReadSeeker, mime, etag string, mod time.Time) {
	h := w.Header()
	h.Set("Content-Type", mime)
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", etag)
	if rng := r.Header.Get("Range"); strings.Count(rng, ",") >= maxRanges {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", mod, f)
}
