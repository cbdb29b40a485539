package web

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"shoebox/internal/library"
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
	if err := s.mergePeople(r, id, in.From); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mergePeople moves the faces of people from into person into, for the
// API and the page's form: each of them the asker's, else not found.
func (s *Server) mergePeople(r *http.Request, into int64, from []int64) error {
	if err := checkIDList(from, "from"); err != nil {
		return err
	}
	seen := map[int64]bool{into: true}
	for _, f := range from {
		if seen[f] {
			return badRequest("from: each person once, not the one merged into")
		}
		seen[f] = true
	}
	if err := s.st.MergePeople(r.Context(), s.scope(r).User(), into, from); err != nil {
		return err
	}
	s.stateChanged(s.scope(r).User())
	return nil
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
	n, err := s.splitPerson(r, id, in.Faces)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": n})
}

// splitPerson makes faces of person id a new person, for the API and the
// photo page's form: the person the asker's and the faces its, else not
// found.
func (s *Server) splitPerson(r *http.Request, id int64, faces []int64) (int64, error) {
	if err := checkIDList(faces, "faces"); err != nil {
		return 0, err
	}
	seen := map[int64]bool{}
	for _, f := range faces {
		if seen[f] {
			return 0, badRequest("faces: each face once")
		}
		seen[f] = true
	}
	n, err := s.st.SplitPerson(r.Context(), s.scope(r).User(), id, faces)
	if err != nil {
		return 0, err
	}
	s.stateChanged(s.scope(r).User())
	return n, nil
}

// peoplePage is GET /people: a grid of people, names editable by their
// owner, who may tick two or more to merge (?hidden=1: the hidden ones
// too).
func (s *Server) peoplePage(w http.ResponseWriter, r *http.Request) {
	hidden := r.URL.Query().Get("hidden") == "1"
	list, err := s.people(r, hidden)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	owned := 0
	for _, p := range list {
		if p.Owned {
			owned++
		}
	}
	s.render(w, r, http.StatusOK, "people", map[string]any{"People": list, "ShowHidden": hidden, "CanMerge": owned >= 2})
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

// formIDs reads a form's list of ids (key repeated); one not an id's
// shape is a bad request.
func formIDs(r *http.Request, key string) ([]int64, error) {
	vals := r.PostForm[key]
	if len(vals) > maxMergeSplit {
		return nil, badRequest("%s: at most %d", key, maxMergeSplit)
	}
	out := make([]int64, 0, len(vals))
	for _, v := range vals {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, badRequest("%s: ids are positive numbers", key)
		}
		out = append(out, id)
	}
	return out, nil
}

// mergePeopleForm is POST /people/merge (people, repeated): the page's
// merge of the people ticked into the first of them (in the page's
// order: named first), back to /people.
func (s *Server) mergePeopleForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	ids, err := formIDs(r, "people")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(ids) < 2 {
		s.fail(w, r, badRequest("people: tick two or more to merge"))
		return
	}
	if err := s.mergePeople(r, ids[0], ids[1:]); err != nil {
		s.fail(w, r, err)
		return
	}
	back(w, r, "/people")
}

// splitPersonForm is POST /people/{id}/split (face, repeated; photo): the
// photo page's "not NAME", the faces taken out into a new person; back to
// the photo (a photo id not of its shape: to /people).
func (s *Server) splitPersonForm(w http.ResponseWriter, r *http.Request) {
	id, err := personID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	faces, err := formIDs(r, "face")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.splitPerson(r, id, faces); err != nil {
		s.fail(w, r, err)
		return
	}
	if p := r.PostFormValue("photo"); library.ValidID(p) {
		back(w, r, "/photo/"+p)
		return
	}
	back(w, r, "/people")
}

// ownedFaces are those of faces whose person is the asker's: the ones the
// photo page offers to take out of their person.
func (s *Server) ownedFaces(r *http.Request, faces []storage.Face) ([]storage.Face, error) {
	var ids []int64
	for _, f := range faces {
		if f.Person != nil {
			ids = append(ids, *f.Person)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	owned, err := s.st.OwnedPeople(r.Context(), s.scope(r).User(), ids)
	if err != nil {
		return nil, err
	}
	var out []storage.Face
	for _, f := range faces {
		if f.Person != nil && owned[*f.Person] {
			out = append(out, f)
		}
	}
	return out, nil
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
