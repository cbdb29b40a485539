package web

import (
	"net/http"

	"shoebox/internal/database"
	"shoebox/internal/storage"
)

// statsView is /api/stats: the library's figures and the pool's.
type statsView struct {
	*storage.LibraryStats
	DB       database.Stats    `json:"db"`
	Failures []storage.Failure `json:"failures,omitempty"`
}

func (s *Server) loadStats(r *http.Request, failures bool) (*statsView, error) {
	ls, err := s.st.Stats(r.Context())
	if err != nil {
		return nil, err
	}
	v := &statsView{LibraryStats: ls, DB: s.db.Stats()}
	if failures && ls.Queue.Failed > 0 {
		if v.Failures, err = s.st.Failures(r.Context(), 200); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// apiStats is GET /api/stats.
func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadStats(r, r.URL.Query().Has("failures"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// statsPage is GET /stats: the same figures for people.
func (s *Server) statsPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadStats(r, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "stats", map[string]any{"Stats": v})
}
