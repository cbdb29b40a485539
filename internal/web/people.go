package web

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"shoebox/internal/storage"
)

// People: faces grouped into people (storage/face.go). Everyone sees the
// people whose faces are on photos they see; only a person's owner (the
// owner of the library the faces were found in) names, hides, merges and
// splits them: to anyone else, like an id that does not exist, the person
// is not found.

// Limits of what a request carries.
const (
	maxPersonName = 200
	maxMergeSplit = 1000
)

// apiFace is a face on a photo, in /api/photos/{id}.
type apiFace struct {
	ID     int64      `json:"id"`
	Box    [4]float32 `json:"box"` // x, y, width, height: fractions of the upright image
	Person *int64     `json:"person"`
	Name   string     `json:"name,omitempty"` // the person's name, when named
}

// apiPerson is one person in GET /api/people.
type apiPerson struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Faces        int        `json:"faces"` // on the photos the asker sees
	Hidden       bool       `json:"hidden"`
	Owned        bool       `json:"owned"`     // the asker may rename, hide, merge, split
	Cover        string     `json:"cover"`     // the photo of the cover face
	CoverBox     [4]float32 `json:"cover_box"` // the face on it
	ThumbnailURL string     `json:"thumbnail_url"`
}

func toAPIFaces(faces []storage.Face) []apiFace {
	out := make([]apiFace, 0, len(faces))
	for _, f := range faces {
		out = append(out, apiFace{ID: f.ID, Box: f.Box, Person: f.Person, Name: f.Name})
	}
	return out
}

// personID reads the {id} of a person route; one not of an id's shape
// names no person.
func personID(r *http.Request) (int64, error) { return albumID(r) }

// people are the people r's asker sees (hidden ones too when asked).
func (s *Server) people(r *http.Request, hidden bool) ([]storage.Person, error) {
	return s.st.ListPeople(r.Context(), storage.PeopleParams{Scope: s.scope(r), Hidden: hidden})
}

// apiPeople is GET /api/people (?hidden=1: the hidden ones too).
func (s *Server) apiPeople(w http.ResponseWriter, r *http.Request) {
	list, err := s.people(r, r.URL.Query().Get("hidden") == "1")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiPerson, 0, len(list))
	for _, p := range list {
		out = append(out, apiPerson{ID: p.ID, Name: p.Name, Faces: p.Faces, Hidden: p.Hidden, Owned: p.Owned,
			Cover: p.Cover, CoverBox: p.Box, ThumbnailURL: "/thumbnail/" + p.Cover + "?v=1"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"people": out})
}

// checkPersonName trims a name and refuses one too long.
func checkPersonName(n string) (string, error) {
	n = strings.TrimSpace(n)
	if len(n) > maxPersonName || strings.ContainsRune(n, 0) {
		return "", badRequest("name: at most %d bytes", maxPersonName)
	}
	return n, nil
}

// apiPatchPerson is PATCH /api/people/{id} ({"name": …, "hidden": …}).
func (s *Server) apiPatchPerson(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Name   *string `json:"name"`
		Hidden *bool   `json:"hidden"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Name != nil {
		n, err := checkPersonName(*in.Name)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		in.Name = &n
	}
	if err := s.st.UpdatePerson(r.Context(), s.scope(r).User(), id, storage.PersonChange{Name: in.Name, Hidden: in.Hidden}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.stateChanged(s.scope(r).User()) // person:NAME lists change with a name
	w.WriteHeader(http.StatusNoContent)
}

// checkIDList refuses an empty or overlong list, and ids not positive.
func checkIDList(ids []int64, what string) error {
	if len(ids) == 0 || len(ids) > maxMergeSplit {
		return badRequest("%s: 1 to %d ids", what, maxMergeSplit)
	}
	for _, id := range ids {
		if id <= 0 {
			return badRequest("%s: ids are positive", what)
		}
	}
	return nil
}

// apiMergePeople is POST /api/people/{id}/merge ({"from": [ids]}): their
// faces become this person's, and they go.
func (s *Server) apiMergePeople(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		From []int64 `json:"from"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkIDList(in.From, "from"); err != nil {
		s.fail(w, r, err)
		return
	}
	seen := map[int64]bool{id: true}
	for _, f := range in.From {
		if seen[f] {
			s.fail(w, r, badRequest("from: each person once, not the one merged into"))
			return
		}
		seen[f] = true
	}
	if err := s.st.MergePeople(r.Context(), s.scope(r).User(), id, in.From); err != nil {
		s.fail(w, r, err)
		return
	}
	s.stateChanged(s.scope(r).User())
	w.WriteHeader(http.StatusNoContent)
}

// apiSplitPerson is POST /api/people/{id}/split ({"faces": [ids]}): those
// faces become a new person, {"id": …}.
func (s *Server) apiSplitPerson(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Faces []int64 `json:"faces"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkIDList(in.Faces, "faces"); err != nil {
		s.fail(w, r, err)
		return
	}
	seen := map[int64]bool{}
	for _, f := range in.Faces {
		if seen[f] {
			s.fail(w, r, badRequest("faces: each face once"))
			return
		}
		seen[f] = true
	}
	n, err := s.st.SplitPerson(r.Context(), s.scope(r).User(), id, in.Faces)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.stateChanged(s.scope(r).User())
	writeJSON(w, http.StatusCreated, map[string]int64{"id": n})
}

// peoplePage is GET /people: a grid of people, names editable by their
// owner (?hidden=1: the hidden ones too).
func (s *Server) peoplePage(w http.ResponseWriter, r *http.Request) {
	hidden := r.URL.Query().Get("hidden") == "1"
	list, err := s.people(r, hidden)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "people", map[string]any{"People": list, "ShowHidden": hidden})
}

// personForm is POST /people/{id} (name, hidden): the page's form.
func (s *Server) personForm(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	var c storage.PersonChange
	h := r.PostFormValue("hidden")
	if _, ok := r.PostForm["name"]; ok {
		n, err := checkPersonName(r.PostFormValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c.Name = &n
	}
	if h != "" {
		v := h == "true"
		c.Hidden = &v
	}
	if err := s.st.UpdatePerson(r.Context(), s.scope(r).User(), id, c); err != nil {
		s.fail(w, r, err)
		return
	}
	s.stateChanged(s.scope(r).User())
	back(w, r, "/people")
}

// faceBox places a face's box over its photo (percentages).
func faceBox(b [4]float32) template.CSS {
	pc := func(f float32) string { return strconv.FormatFloat(float64(f)*100, 'f', 2, 32) + "%" }
	return template.CSS("left:" + pc(b[0]) + ";top:" + pc(b[1]) + ";width:" + pc(b[2]) + ";height:" + pc(b[3]))
}

// faceCrop shows the face boxed by b of a thumbnail filling its element
// (a background scaled and moved so the box fills it).
func faceCrop(id string, b [4]float32) template.CSS {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, `"'()\ `) {
		return ""
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "%" }
	pos := func(at, size float32) string {
		if size >= 1 {
			return "0%"
		}
		return f(float64(at) / float64(1-size) * 100)
	}
	return template.CSS("background-image:url(/thumbnail/" + id + "?v=1);background-size:" + f(100/float64(b[2])) + " " + f(100/float64(b[3])) +
		";background-position:" + pos(b[0], b[2]) + " " + pos(b[1], b[3]))
}

// personQuery is the search for a person's photos.
func personQuery(n string) string { return "person:" + strings.ReplaceAll(n, " ", "_") }
