package web

import (
	"net/http"
	"strings"
	"time"

	"shoebox/internal/library"
)

// video plays a video: its original, as it is, when browsers can play it
// (the note kept beside its thumbnail says so, decided at index time), with
// Range requests (206) so a player can seek. No SQL, and the same guard as
// /original: the file must still be the one indexed. A video browsers
// cannot play (HEVC, VP9, AV1, MPEG-4 Part 2, or not in MP4) answers 415
// until it is transcoded; a photo answers 404.
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
	if !o.Video.Playable {
		http.Error(w, "this video is in a format browsers do not play ("+o.Video.MIME+
			"); download the original to watch it", http.StatusUnsupportedMediaType)
		return
	}
	f, o, err := s.store.OpenSource(id)
	if err != nil {
		if o.Path != "" {
			s.originalChanged(id, err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", o.Video.MIME)
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+id+`-v"`)
	if rng := r.Header.Get("Range"); strings.Count(rng, ",") >= maxRanges {
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", time.Unix(0, o.MTime), f)
}
