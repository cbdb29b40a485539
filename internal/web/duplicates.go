package web

import (
	"net/http"
)

// duplicatesPage is GET /duplicates: groups of near-identical photos.
func (s *Server) duplicatesPage(w http.ResponseWriter, r *http.Request) {
	groups, err := s.st.DuplicateGroups(r.Context(), s.scope(r), 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "duplicates", map[string]any{"Groups": groups, "HasModel": s.embed != nil})
}

// apiDuplicates is GET /api/duplicates: {"groups":[{"photos":[…]}]}.
func (s *Server) apiDuplicates(w http.ResponseWriter, r *http.Request) {
	groups, err := s.st.DuplicateGroups(r.Context(), s.scope(r), 200)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type group struct {
		Photos []apiPhoto `json:"photos"`
	}
	out := struct {
		Groups []group `json:"groups"`
	}{Groups: []group{}}
	for _, g := range groups {
		out.Groups = append(out.Groups, group{photoList(g, "").Photos})
	}
	writeJSON(w, http.StatusOK, out)
}
