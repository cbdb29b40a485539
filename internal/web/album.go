package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"shoebox/internal/library"
	"shoebox/internal/storage"
)

// Albums: the JSON API (/api/albums…) and the pages (/albums…), whose
// forms post to page routes that answer 303 back, so they work without
// script. Every album id is checked against who asks (storage): one they
// may not see is not found, a change they may not make is forbidden.
// The asker is the scope's user (0: the local user without accounts).

// albumID reads the {id} of an album route; one not of an id's shape
// names no album.
func albumID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != r.PathValue("id") {
		return 0, storage.ErrNotFound
	}
	return id, nil
}

// Limits of what an album holds and a request carries.
const (
	maxAlbumName   = 200
	maxAlbumDesc   = 2000
	albumRoleOwner = "owner"
)

// checkAlbumName trims a name and refuses an empty, long or unprintable one.
func checkAlbumName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", badRequest("an album needs a name")
	case utf8.RuneCountInString(name) > maxAlbumName:
		return "", badRequest("album name too long (%d characters at most)", maxAlbumName)
	case !printable(name, false):
		return "", badRequest("invalid character in album name")
	}
	return name, nil
}

func checkAlbumDesc(d string) (string, error) {
	d = strings.TrimSpace(d)
	if utf8.RuneCountInString(d) > maxAlbumDesc {
		return "", badRequest("album description too long (%d characters at most)", maxAlbumDesc)
	}
	if !printable(d, true) {
		return "", badRequest("invalid character in album description")
	}
	return d, nil
}

// printable says whether s is valid UTF-8 without control characters
// (line breaks allowed when lines).
func printable(s string, lines bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) && !(lines && (c == '\n' || c == '\r' || c == '\t')) {
			return false
		}
	}
	return true
}

// checkRole refuses a role other than viewer or editor.
func checkRole(role string) error {
	if role != "viewer" && role != "editor" {
		return badRequest(`role must be "viewer" or "editor"`)
	}
	return nil
}

// apiAlbum is an album as JSON.
type apiAlbum struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Cover       *string `json:"cover"` // the chosen cover, else the album's most recent photo; null when empty
	Count       int     `json:"count"`
	Role        string  `json:"role"`  // the asker's: "owner", "editor" or "viewer"
	Owner       string  `json:"owner"` // the owner's account name ("" for the local user without accounts)
	// Members are the accounts it is shared with (shown to its owner only).
	Members []apiMember `json:"members,omitempty"`
}

type apiMember struct {
	User string `json:"user"`
	Role string `json:"role"`
}

func toAPIAlbum(a storage.Album) apiAlbum {
	return apiAlbum{ID: a.ID, Name: a.Name, Description: a.Description, Cover: a.Cover, Count: a.Count, Role: a.Role, Owner: a.OwnerName}
}

// apiCreateAlbum is POST /api/albums {"name":…, "description":…} → 201 {"id":…}.
func (s *Server) apiCreateAlbum(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.createAlbum(r, in.Name, in.Description)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
}

func (s *Server) createAlbum(r *http.Request, name, desc string) (int64, error) {
	name, err := checkAlbumName(name)
	if err != nil {
		return 0, err
	}
	if desc, err = checkAlbumDesc(desc); err != nil {
		return 0, err
	}
	return s.st.CreateAlbum(r.Context(), s.scope(r).User(), name, desc)
}

// apiAlbums is GET /api/albums: the asker's albums and those shared with
// them, by name.
func (s *Server) apiAlbums(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.Albums(r.Context(), s.scope(r).User())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]apiAlbum, 0, len(list))
	for _, a := range list {
		out = append(out, toAPIAlbum(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"albums": out})
}

// albumPage reads one page of album id's photos as r asks (limit,
// cursor), with the album: ErrNotFound when r may not see it.
func (s *Server) albumPage(r *http.Request) (storage.Album, []storage.PhotoSummary, string, error) {
	id, err := albumID(r)
	if err != nil {
		return storage.Album{}, nil, "", err
	}
	sr, err := parseSearch(r, "")
	if err != nil {
		return storage.Album{}, nil, "", err
	}
	if sr.After != nil && sr.After.Ranked() {
		return storage.Album{}, nil, "", badRequest("invalid cursor")
	}
	scope := s.scope(r)
	a, err := s.st.Album(r.Context(), scope.User(), id)
	if err != nil {
		return a, nil, "", err
	}
	photos, next, err := s.st.ListPhotos(r.Context(), storage.ListParams{After: sr.After, Limit: sr.Limit, Album: id, Scope: scope,
		Only: storage.NotTrashed}) // archived photos stay in their albums; the asker's trash does not show
	if err != nil || next == nil {
		return a, photos, "", err
	}
	return a, photos, next.String(), nil
}

// apiAlbum is GET /api/albums/{id}: the album, and its photos in the
// shape of /api/photos (photos, next), paged the same way.
func (s *Server) apiAlbum(w http.ResponseWriter, r *http.Request) {
	a, photos, next, err := s.albumPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := toAPIAlbum(a)
	if a.Role == albumRoleOwner {
		members, err := s.st.AlbumMembers(r.Context(), a.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, m := range members {
			out.Members = append(out.Members, apiMember{User: m.Name, Role: m.Role})
		}
	}
	l := photoList(photos, next)
	writeJSON(w, http.StatusOK, struct {
		Album  apiAlbum   `json:"album"`
		Photos []apiPhoto `json:"photos"`
		Next   *string    `json:"next"`
	}{out, l.Photos, l.Next})
}

// apiPatchAlbum is PATCH /api/albums/{id} with any of {"name":…,
// "description":…, "cover":ID or null}.
func (s *Server) apiPatchAlbum(w http.ResponseWriter, r *http.Request) {
	id, err := albumID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Name        *string         `json:"name"`
		Description *string         `json:"description"`
		Cover       json.RawMessage `json:"cover"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	var c storage.AlbumChange
	if in.Cover != nil {
		cover := ""
		if string(in.Cover) != "null" {
			if err := json.Unmarshal(in.Cover, &cover); err != nil || !library.ValidID(cover) {
				s.fail(w, r, badRequest("cover: a photo id or null"))
				return
			}
		}
		c.Cover = &cover
	}
	if err := s.updateAlbum(r, id, in.Name, in.Description, c); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) updateAlbum(r *http.Request, id int64, name, desc *string, c storage.AlbumChange) error {
	if name != nil {
		n, err := checkAlbumName(*name)
		if err != nil {
			return err
		}
		c.Name = &n
	}
	if desc != nil {
		d, err := checkAlbumDesc(*desc)
		if err != nil {
			return err
		}
		c.Description = &d
	}
	if err := s.st.UpdateAlbum(r.Context(), s.scope(r).User(), id, c); err != nil {
		return err
	}
	s.stateChanged(s.scope(r).User()) // album:NAME lists change with a name
	return nil
}

// apiDeleteAlbum is DELETE /api/albums/{id} (its owner only; the photos stay).
func (s *Server) apiDeleteAlbum(w http.ResponseWriter, r *http.Request) {
	id, err := albumID(r)
	if err == nil {
		err = s.st.DeleteAlbum(r.Context(), s.scope(r).User(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.refreshSoon(r.Context())
	w.WriteHeader(http.StatusNoContent)
}

// apiAlbumPhotos is POST (add) and DELETE (remove) /api/albums/{id}/photos
// {"ids":[…]}: only photos the asker sees, all or none.
func (s *Server) apiAlbumPhotos(w http.ResponseWriter, r *http.Request) {
	id, err := albumID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkIDs(in.IDs); err != nil {
		s.fail(w, r, err)
		return
	}
	if r.Method == http.MethodDelete {
		n, err := s.st.RemoveFromAlbum(r.Context(), s.scope(r), id, in.IDs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.stateChanged(s.scope(r).User())
		s.refreshSoon(r.Context())
		writeJSON(w, http.StatusOK, map[string]int{"removed": n})
		return
	}
	n, err := s.st.AddToAlbum(r.Context(), s.scope(r), id, in.IDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.stateChanged(s.scope(r).User())
	s.refreshSoon(r.Context())
	writeJSON(w, http.StatusOK, map[string]int{"added": n})
}

// apiShareAlbum is POST /api/albums/{id}/members {"user":…, "role":…}
// (its owner only): shares the album, or changes the role.
func (s *Server) apiShareAlbum(w http.ResponseWriter, r *http.Request) {
	id, err := albumID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		User string `json:"user"`
		Role string `json:"role"`
	}
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.shareAlbum(r, id, in.User, in.Role); err != nil {
		s.fail(w, r, err)
		return
	}
	s.refreshSoon(r.Context())
	writeJSON(w, http.StatusOK, apiMember{User: in.User, Role: in.Role})
}

func (s *Server) shareAlbum(r *http.Request, id int64, user, role string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	if user == "" || len(user) > 64 {
		return badRequest("user: an account name")
	}
	return s.st.ShareAlbum(r.Context(), s.scope(r).User(), id, user, role)
}

// apiUnshareAlbum is DELETE /api/albums/{id}/members/{user}: the owner
// ends anyone's share, a member their own.
func (s *Server) apiUnshareAlbum(w http.ResponseWriter, r *http.Request) {
	id, err := albumID(r)
	if err == nil {
		err = s.st.UnshareAlbum(r.Context(), s.scope(r).User(), id, r.PathValue("user"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.refreshSoon(r.Context())
	w.WriteHeader(http.StatusNoContent)
}

// The pages.

// albumsPage is GET /albums: the asker's albums and those shared with
// them, and a form to make one.
func (s *Server) albumsPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.Albums(r.Context(), s.scope(r).User())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "albums", map[string]any{"Albums": list})
}

// albumView is GET /albums/{id}: its photos in a grid, paged like the
// gallery, and the forms its owner and editors may use.
func (s *Server) albumView(w http.ResponseWriter, r *http.Request) {
	a, photos, next, err := s.albumPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"Album": a, "Photos": photos, "Next": next != ""}
	if next != "" {
		data["NextURL"] = r.URL.Path + "?" + url.Values{"cursor": {next}}.Encode()
	}
	if se, ok := currentSession(r); ok {
		data["Me"] = se.UserName
	}
	if a.Role == albumRoleOwner {
		if data["Members"], err = s.st.AlbumMembers(r.Context(), a.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "album", data)
}

// back answers a page form with a redirect to path (303: the browser
// GETs it).
func back(w http.ResponseWriter, r *http.Request, path string) {
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func albumPath(id int64) string { return "/albums/" + strconv.FormatInt(id, 10) }

// createAlbumForm is POST /albums (name): to the new album's page.
func (s *Server) createAlbumForm(w http.ResponseWriter, r *http.Request) {
	id, err := s.createAlbum(r, r.PostFormValue("name"), r.PostFormValue("description"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	back(w, r, albumPath(id))
}

// albumForm runs a form of album {id}'s page, then goes back to it (or
// to where do says, when it says). Like every change to an album's photos
// or members, it refreshes this process's copy of who sees what, so the
// next page's thumbnails agree with it.
func (s *Server) albumForm(w http.ResponseWriter, r *http.Request, do func(id int64) (string, error)) {
	id, err := albumID(r)
	to := ""
	if err == nil {
		to, err = do(id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.refreshSoon(r.Context())
	if to == "" {
		to = albumPath(id)
	}
	back(w, r, to)
}

// editAlbumForm is POST /albums/{id}/edit (name, description).
func (s *Server) editAlbumForm(w http.ResponseWriter, r *http.Request) {
	s.albumForm(w, r, func(id int64) (string, error) {
		name, desc := r.PostFormValue("name"), r.PostFormValue("description")
		return "", s.updateAlbum(r, id, &name, &desc, storage.AlbumChange{})
	})
}

// coverForm is POST /albums/{id}/cover (photo).
func (s *Server) coverForm(w http.ResponseWriter, r *http.Request) {
	s.albumForm(w, r, func(id int64) (string, error) {
		cover := r.PostFormValue("photo")
		if !library.ValidID(cover) {
			return "", badRequest("not a photo id")
		}
		return "", s.updateAlbum(r, id, nil, nil, storage.AlbumChange{Cover: &cover})
	})
}

// removePhotoForm is POST /albums/{id}/photos/remove (photo).
func (s *Server) removePhotoForm(w http.ResponseWriter, r *http.Request) {
	s.albumForm(w, r, func(id int64) (string, error) {
		photo := r.PostFormValue("photo")
		if err := checkIDs([]string{photo}); err != nil {
			return "", err
		}
		if _, err := s.st.RemoveFromAlbum(r.Context(), s.scope(r), id, []string{photo}); err != nil {
			return "", err
		}
		s.stateChanged(s.scope(r).User())
		return "", nil
	})
}

// addToAlbumForm is POST /photo/{id}/album (album): from the photo page,
// back to it.
func (s *Server) addToAlbumForm(w http.ResponseWriter, r *http.Request) {
	photo, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	album, err := strconv.ParseInt(r.PostFormValue("album"), 10, 64)
	if err != nil || album <= 0 {
		s.fail(w, r, badRequest("choose an album"))
		return
	}
	if _, err := s.st.AddToAlbum(r.Context(), s.scope(r), album, []string{photo}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.stateChanged(s.scope(r).User())
	s.refreshSoon(r.Context())
	back(w, r, "/photo/"+photo+"?added="+strconv.FormatInt(album, 10))
}

// shareAlbumForm is POST /albums/{id}/members (user, role).
func (s *Server) shareAlbumForm(w http.ResponseWriter, r *http.Request) {
	s.albumForm(w, r, func(id int64) (string, error) {
		return "", s.shareAlbum(r, id, strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("role"))
	})
}

// unshareAlbumForm is POST /albums/{id}/members/{user}/remove: back to the
// album, or to the albums when one left it.
func (s *Server) unshareAlbumForm(w http.ResponseWriter, r *http.Request) {
	s.albumForm(w, r, func(id int64) (string, error) {
		if err := s.st.UnshareAlbum(r.Context(), s.scope(r).User(), id, r.PathValue("user")); err != nil {
			return "", err
		}
		if _, err := s.st.Album(r.Context(), s.scope(r).User(), id); errors.Is(err, storage.ErrNotFound) {
			return "/albums", nil
		}
		return "", nil
	})
}

// deleteAlbumForm is POST /albums/{id}/delete: to the albums.
func (s *Server) deleteAlbumForm(w http.ResponseWriter, r *http.Request) {
	s.albumForm(w, r, func(id int64) (string, error) {
		return "/albums", s.st.DeleteAlbum(r.Context(), s.scope(r).User(), id)
	})
}
