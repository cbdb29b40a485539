package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"shoebox/internal/jobs"
	"shoebox/internal/library"
	"shoebox/internal/storage"
)

// Per-user state of photos: favourite, archived, trashed. PATCH
// /api/photos/{id} and PATCH /api/photos ({"ids":[…]}) change it as JSON;
// the photo page and the Trash page change it with forms (POST, then 303
// back), so it works without script. Every id is checked against who
// asks: one the asker may not see makes the whole request a 404.

// maxJSONBody bounds a JSON request body (5000 ids fit).
const maxJSONBody = 256 << 10

// readJSON decodes r's body into v: JSON only, one value, no unknown
// field, at most maxJSONBody bytes; anything else is a 400.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return badRequest("send JSON (Content-Type: application/json)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return badRequest("request body too large")
		}
		return badRequest("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("invalid JSON: one value expected")
	}
	return nil
}

// statePatch is the body of PATCH /api/photos[/{id}].
type statePatch struct {
	IDs []string `json:"ids,omitempty"`
	storage.StatePatch
}

// apiPatchPhoto is PATCH /api/photos/{id}: {"favorite":bool,
// "archived":bool, "trashed":bool}, any of them. It answers the photo.
func (s *Server) apiPatchPhoto(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var p storage.StatePatch
	if err := readJSON(w, r, &p); err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.setStates(r, []string{id}, p); err != nil {
		s.fail(w, r, err)
		return
	}
	s.apiPhoto(w, r)
}

// apiPatchPhotos is PATCH /api/photos: {"ids":[…]} and the fields of
// apiPatchPhoto, for a selection. It answers {"updated": n}.
func (s *Server) apiPatchPhotos(w http.ResponseWriter, r *http.Request) {
	var p statePatch
	if err := readJSON(w, r, &p); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkIDs(p.IDs); err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.setStates(r, p.IDs, p.StatePatch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"updated": n})
}

// checkIDs refuses a selection that is empty, too large, or holds
// something not shaped like a photo id.
func checkIDs(ids []string) error {
	if len(ids) == 0 || len(ids) > storage.MaxStateIDs {
		return badRequest(`"ids" must list 1 to %d photos`, storage.MaxStateIDs)
	}
	for _, id := range ids {
		if !library.ValidID(id) {
			return badRequest("invalid photo id %.40q", id)
		}
	}
	return nil
}

// photoStateForm is POST /photo/{id}/state, the photo page's buttons:
// form fields favorite, archived, trashed ("true"/"false"); back to the
// photo page (or the Trash page, when it came from there).
func (s *Server) photoStateForm(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := formPatch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.setStates(r, []string{id}, p); err != nil {
		s.fail(w, r, err)
		return
	}
	back := "/photo/" + id
	if r.PostFormValue("back") == "trash" {
		back = "/trash"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// formPatch reads the state fields of a form.
func formPatch(r *http.Request) (storage.StatePatch, error) {
	var p storage.StatePatch
	if err := parseForm(r); err != nil {
		return p, err
	}
	for name, dst := range map[string]**bool{"favorite": &p.Favorite, "archived": &p.Archived, "trashed": &p.Trashed} {
		switch r.PostForm.Get(name) {
		case "":
		case "true":
			*dst = new(bool)
			**dst = true
		case "false":
			*dst = new(bool)
		default:
			return p, badRequest("%s must be true or false", name)
		}
	}
	return p, nil
}

// trashForm is POST /trash: restore the photos ticked ("id" fields), or
// empty the trash ("empty"=true).
func (s *Server) trashForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	if r.PostForm.Get("empty") == "true" {
		user := s.scope(r).User()
		if _, err := jobs.EmptyTrash(r.Context(), s.st, user); err != nil {
			s.fail(w, r, err)
			return
		}
		s.stateChanged(user)
	} else {
		ids := r.PostForm["id"]
		if err := checkIDs(ids); err != nil {
			s.fail(w, r, err)
			return
		}
		restore := false
		if _, err := s.setStates(r, ids, storage.StatePatch{Trashed: &restore}); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	http.Redirect(w, r, "/trash", http.StatusSeeOther)
}

// setStates applies p to photos ids as r's user (every id checked
// against them) and marks their pages changed, so their next page shows
// it. A patch that changes nothing is a 400.
func (s *Server) setStates(r *http.Request, ids []string, p storage.StatePatch) (int, error) {
	if p.Empty() {
		return 0, badRequest(`nothing to change: send "favorite", "archived" or "trashed"`)
	}
	scope := s.scope(r)
	n, err := s.st.SetStates(r.Context(), scope, ids, p)
	if err == nil {
		s.stateChanged(scope.User())
	}
	return n, err
}

// parseForm reads a form body of at most maxJSONBody bytes (a 400
// otherwise).
func parseForm(r *http.Request) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxJSONBody)
	if err := r.ParseForm(); err != nil {
		return badRequest("invalid form")
	}
	return nil
}

// stateGens counts each user's state changes in this process: the page
// cache keys a user's pages by it, so a change shows on the next page
// (other processes show it when their cached page expires, ≤ 4 s).
type stateGens struct{ m sync.Map } // user id → *atomic.Uint64

func (g *stateGens) of(user int64) uint64 {
	if c, ok := g.m.Load(user); ok {
		return c.(*atomic.Uint64).Load()
	}
	return 0
}

func (s *Server) stateChanged(user int64) {
	c, _ := s.states.m.LoadOrStore(user, new(atomic.Uint64))
	c.(*atomic.Uint64).Add(1)
}
