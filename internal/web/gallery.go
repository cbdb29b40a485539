package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/storage"
)

const pageSize = 50

// gallery is GET /: newest first, 50 a page, one query a page — the
// search with no words.
func (s *Server) gallery(w http.ResponseWriter, r *http.Request) { s.searchPage(w, r, "", false) }

// search is GET /search?q=: by meaning with a model, by metadata words
// otherwise (see meaning.go).
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	s.searchPage(w, r, r.URL.Query().Get("q"), false)
}

// listParams reads cursor, limit and the search words, refusing what is not
// of their shape with a 400.
func listParams(r *http.Request, q string) (storage.ListParams, error) {
	p := storage.ListParams{Limit: pageSize}
	qs := r.URL.Query()
	var err error
	// A cursor's id is a photo id; anything else (say a NUL byte, which
	// PostgreSQL refuses in text) is not one of ours.
	if p.After, err = storage.ParseCursor(qs.Get("cursor")); err != nil || (p.After != nil && !library.ValidID(p.After.ID)) {
		return p, badRequest("invalid cursor")
	}
	if l := qs.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return p, badRequest("limit must be 1 to 500")
		}
		p.Limit = n
	}
	if len(q) > 500 {
		return p, badRequest("query too long")
	}
	if strings.ContainsRune(q, 0) { // PostgreSQL text cannot hold NUL: a 500 otherwise
		return p, badRequest("invalid character in query")
	}
	p.Terms = strings.Fields(q)
	if len(p.Terms) > 10 {
		return p, badRequest("too many search words (10 at most)")
	}
	return p, nil
}

// photo is GET /photo/{id}.
func (s *Server) photo(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !library.ValidID(id) {
		s.fail(w, r, storage.ErrNotFound)
		return
	}
	p, err := s.st.Photo(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	similar, err := s.similarTo(r.Context(), id, 12)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "photo", map[string]any{"Photo": p, "Similar": similar, "Tags": p.Tags})
}

// apiPhoto is one photo as JSON.
type apiPhoto struct {
	ID           string     `json:"id"`
	Path         string     `json:"path"`
	ThumbnailURL string     `json:"thumbnail_url"`
	PreviewURL   string     `json:"preview_url"`
	OriginalURL  string     `json:"original_url"`
	TakenAt      time.Time  `json:"taken_at"`
	Width        int        `json:"width"`
	Height       int        `json:"height"`
	Detail       *apiDetail `json:"detail,omitempty"`
}

type apiDetail struct {
	State       string            `json:"state"`
	Error       string            `json:"error,omitempty"`
	Format      string            `json:"format"`
	Size        int64             `json:"size"`
	TakenOffset *int              `json:"taken_offset_minutes"`
	TakenSource string            `json:"taken_source"`
	Make        string            `json:"camera_make"`
	Model       string            `json:"camera_model"`
	Lens        string            `json:"lens"`
	Exposure    string            `json:"exposure"`
	FNumber     float64           `json:"fnumber"`
	ISO         int               `json:"iso"`
	FocalLength float64           `json:"focal_length"`
	Lat         *float64          `json:"lat"`
	Lon         *float64          `json:"lon"`
	Alt         *float64          `json:"alt"`
	Orientation int               `json:"orientation"`
	Tags        []storage.Tag     `json:"tags"`
	Files       []storage.FileRef `json:"files"`
}

func toAPI(p storage.PhotoSummary) apiPhoto {
	return apiPhoto{ID: p.ID, Path: p.Path, ThumbnailURL: "/thumbnail/" + p.ID + "?v=1",
		PreviewURL: "/preview/" + p.ID + "?v=1", OriginalURL: "/original/" + p.ID,
		TakenAt: p.TakenAt, Width: p.Width, Height: p.Height}
}

// apiPhotos is GET /api/photos?limit=N&cursor=C.
func (s *Server) apiPhotos(w http.ResponseWriter, r *http.Request) { s.searchPage(w, r, "", true) }

// apiSearch is GET /api/search?q=, in the shape of /api/photos.
func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request) {
	s.searchPage(w, r, r.URL.Query().Get("q"), true)
}

// apiPhoto is GET /api/photos/{id}: one photo with all its metadata.
func (s *Server) apiPhoto(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !library.ValidID(id) {
		s.fail(w, r, storage.ErrNotFound)
		return
	}
	p, err := s.st.Photo(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tags := p.Tags
	if tags == nil {
		tags = []storage.Tag{}
	}
	a := toAPI(p.PhotoSummary)
	a.Detail = &apiDetail{State: p.State, Error: p.Error, Format: p.Format, Size: p.Size,
		TakenOffset: p.TakenOffset, TakenSource: p.TakenSource, Make: p.Make, Model: p.Model,
		Lens: p.Lens, Exposure: p.Exposure, FNumber: p.FNumber, ISO: p.ISO, FocalLength: p.FocalLength,
		Lat: p.Lat, Lon: p.Lon, Alt: p.Alt, Orientation: p.Orientation, Files: p.Files, Tags: tags}
	writeJSON(w, http.StatusOK, a)
}

// apiList is the shape of every photo list in the API: /api/photos,
// /api/search, /api/photos/{id}/similar.
type apiList struct {
	Photos []apiPhoto `json:"photos"`
	Next   *string    `json:"next"`
}

// photoList builds an apiList; next "" means no further page.
func photoList(photos []storage.PhotoSummary, next string) apiList {
	out := apiList{Photos: make([]apiPhoto, 0, len(photos))}
	for _, ph := range photos {
		out.Photos = append(out.Photos, toAPI(ph))
	}
	if next != "" {
		out.Next = &next
	}
	return out
}
