package web

import (
	"maps"
	"net/http"
	"slices"
	"strconv"

	"shoebox/internal/database"
	"shoebox/internal/storage"
)

// statsView is /api/stats: the library's figures and the pool's.
type statsView struct {
	*storage.LibraryStats
	Embedded int                 `json:"embedded"`
	Model    *modelInfo          `json:"model"`
	Tags     map[string]int      `json:"tags"`
	Places   *storage.PlaceStats `json:"places"` // located photos, top countries and cities
	DB       database.Stats      `json:"db"`
	Failures []storage.Failure   `json:"failures,omitempty"`
}

func (s *Server) loadStats(r *http.Request, failures bool) (*statsView, error) {
	scope := s.scope(r)
	ls, err := s.st.Stats(r.Context(), scope)
	if err != nil {
		return nil, err
	}
	v := &statsView{LibraryStats: ls, DB: s.db.Stats()}
	if s.embed != nil {
		v.Model = &modelInfo{Name: s.embed.Name(), Dim: s.embed.Dim()}
		if v.Embedded, err = s.st.CountEmbedded(r.Context(), scope, s.embed.Name()); err != nil {
			return nil, err
		}
	}
	if v.Tags, err = s.st.TagCounts(r.Context(), scope, 50); err != nil {
		return nil, err
	}
	if v.Places, err = s.st.PlaceCounts(r.Context(), scope, 10); err != nil {
		return nil, err
	}
	if failures && ls.Queue.Failed > 0 {
		if v.Failures, err = s.st.Failures(r.Context(), scope, 200); err != nil {
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
	s.render(w, r, http.StatusOK, "stats", map[string]any{"Stats": v, "Years": yearBars(v.ByYear)})
}

// yearBar is one bar of the stats page's by-year chart.
type yearBar struct {
	Year   string
	Photos int
	Width  string // the bar's length as a CSS percentage of the busiest year's
}

// yearBars lays out the by-year chart in year order, each bar scaled to the
// busiest year, so the page draws it with CSS alone.
func yearBars(byYear map[string]int) []yearBar {
	most := 0
	for _, n := range byYear {
		most = max(most, n)
	}
	bars := make([]yearBar, 0, len(byYear))
	for _, y := range slices.Sorted(maps.Keys(byYear)) {
		n := byYear[y]
		bars = append(bars, yearBar{Year: y, Photos: n, Width: strconv.FormatFloat(100*float64(n)/float64(most), 'f', 2, 64) + "%"})
	}
	return bars
}

// modelInfo names the CLIP model in use.
type modelInfo struct {
	Name string `json:"name"`
	Dim  int    `json:"dim"`
}
