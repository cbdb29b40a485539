package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"shoebox/internal/auth"
	"shoebox/internal/library"
	"shoebox/internal/storage"
)

// Share links. POST /api/shares makes a link to an album or a selection:
// /s/KEY, the key 256 random bits shown once, stored as its SHA-256. A
// visitor of /s/KEY sees what was shared and nothing else: the page (SQL,
// like every page), then thumbnails, previews and (if allowed) originals
// through the same media routes as everyone, with no SQL: opening the
// link (after its password, if it has one) sets a share grant, a cookie
// signed like media grants but with a key of its own, and every process
// holds the live links and their photos in memory (visibility.go), so a
// revoked or expired link stops within a second everywhere. A link's
// visitor never reaches another photo by any id: the grant names the
// link, and the link names its photos.

const (
	shareCookie = "shoebox_share"
	shareLife   = 12 * time.Hour // a share grant's life; the link's own expiry still applies
	maxShareFor = 10 * 365 * 24 * time.Hour
)

// shareGrantKey derives the share grants' HMAC key from the media grant
// key, so neither kind of grant passes for the other.
func shareGrantKey(k []byte) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("shoebox share grant v1"))
	return m.Sum(nil)
}

// liveShare is a link as media routes see it.
type liveShare struct {
	download, meta bool
	exp            *time.Time
	photos         map[string]struct{}
}

func (l *liveShare) live(now time.Time) bool { return l != nil && (l.exp == nil || now.Before(*l.exp)) }

// shareGrant is r's share grant (share id), checked: no SQL.
func (s *Server) shareGrant(r *http.Request) (int64, bool) {
	key := s.auth.key.Load()
	if key == nil {
		return 0, false
	}
	v, ok := cookieValue(r, s.cookieName(r, shareCookie))
	if !ok {
		return 0, false
	}
	g, err := auth.VerifyGrant(shareGrantKey(*key), v, time.Now())
	if err != nil {
		return 0, false
	}
	return g.Session, true
}

// serveShareMedia serves a media request made with a share grant: a photo
// of the link only, originals only when downloads are allowed (without
// their metadata when the link hides it).
func (s *Server) serveShareMedia(w http.ResponseWriter, r *http.Request, next http.Handler, share int64) {
	w.Header()["Cache-Control"] = noStore
	sh := s.vis.share(share)
	if !sh.live(time.Now()) {
		http.Error(w, "this share link has expired or was revoked", http.StatusGone)
		return
	}
	id := mediaID(r.URL.Path)
	if _, ok := sh.photos[id]; !ok {
		http.NotFound(w, r)
		return
	}
	delete(w.Header(), "Cache-Control")
	if strings.HasPrefix(r.URL.Path, "/original/") {
		if !sh.download {
			http.Error(w, "downloads are not allowed on this share link", http.StatusForbidden)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), shareMediaKey{}, sh))
	}
	// Playing a video is viewing it, allowed without downloads; whether
	// this link may play this video (its metadata) is the video route's
	// to say.
	if strings.HasPrefix(r.URL.Path, "/video/") {
		r = r.WithContext(context.WithValue(r.Context(), shareMediaKey{}, sh))
	}
	next.ServeHTTP(w, r)
}

type shareMediaKey struct{}

// shareRequest is what POST /api/shares takes.
type shareRequest struct {
	Album         *int64   `json:"album"`
	IDs           []string `json:"ids"`
	ExpiresIn     string   `json:"expires_in"`
	Password      string   `json:"password"`
	AllowDownload bool     `json:"allow_download"`
	ShowMetadata  bool     `json:"show_metadata"`
}

// apiShare is a link as its owner sees it (never its key).
type apiShare struct {
	ID            int64      `json:"id"`
	URL           string     `json:"url,omitempty"` // only when just made: the key is shown once
	Album         *int64     `json:"album"`
	Photos        int        `json:"photos"`
	ExpiresAt     *time.Time `json:"expires_at"`
	Revoked       bool       `json:"revoked"`
	HasPassword   bool       `json:"has_password"`
	AllowDownload bool       `json:"allow_download"`
	ShowMetadata  bool       `json:"show_metadata"`
	CreatedAt     time.Time  `json:"created_at,omitzero"`
}

// makeShare checks req and makes the link; it returns the new link's id
// and URL.
func (s *Server) makeShare(r *http.Request, req shareRequest) (int64, string, error) {
	if (req.Album == nil) == (len(req.IDs) == 0) {
		return 0, "", badRequest(`send either "album" or "ids"`)
	}
	if req.Album == nil {
		if err := checkIDs(req.IDs); err != nil {
			return 0, "", err
		}
	}
	var exp *time.Time
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d < time.Minute || d > maxShareFor {
			return 0, "", badRequest(`"expires_in" must be a duration like "72h", from 1m to 10 years`)
		}
		t := time.Now().Add(d)
		exp = &t
	}
	var hash string
	if req.Password != "" {
		if len(req.Password) < 6 || len(req.Password) > 1024 {
			return 0, "", badRequest("a share password must be 6 to 1024 characters")
		}
		var err error
		if hash, err = auth.HashPassword(req.Password); err != nil {
			return 0, "", err
		}
	}
	token, keyHash := auth.NewToken()
	id, err := s.st.AddShare(r.Context(), s.scope(r), storage.NewShare{KeyHash: keyHash, AlbumID: req.Album, IDs: req.IDs,
		Password: hash, AllowDownload: req.AllowDownload, ShowMetadata: req.ShowMetadata, ExpiresAt: exp})
	if err != nil {
		return 0, "", err
	}
	s.refreshSoon(r.Context())
	return id, "/s/" + token, nil
}

// refreshSoon reads who sees what now, so a link just made, or an album
// just shared or changed, shows at once here, thumbnails included (other
// processes learn it within a second).
func (s *Server) refreshSoon(ctx context.Context) {
	if s.accountsExist() {
		if err := s.refreshVisibility(ctx, s.st); err != nil {
			s.log.Debug("visibility refresh", "err", err)
		}
		return
	}
	if err := s.refreshShares(ctx); err != nil {
		s.log.Debug("share refresh", "err", err)
	}
}

// apiCreateShare is POST /api/shares → 201 {"id":…,"url":"/s/KEY",…}.
func (s *Server) apiCreateShare(w http.ResponseWriter, r *http.Request) {
	var req shareRequest
	if err := readJSON(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	id, u, err := s.makeShare(r, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), "share-add", s.userName(r), s.clientAddr(r), "share "+strconv.FormatInt(id, 10))
	writeJSON(w, http.StatusCreated, apiShare{ID: id, URL: u, Album: req.Album, Photos: len(req.IDs),
		HasPassword: req.Password != "", AllowDownload: req.AllowDownload, ShowMetadata: req.ShowMetadata})
}

// apiShares is GET /api/shares: the asker's links.
func (s *Server) apiShares(w http.ResponseWriter, r *http.Request) {
	list, err := s.st.Shares(r.Context(), s.scope(r).User())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Shares []apiShare `json:"shares"`
	}{Shares: []apiShare{}}
	for _, sh := range list {
		out.Shares = append(out.Shares, toAPIShare(sh))
	}
	writeJSON(w, http.StatusOK, out)
}

func toAPIShare(sh storage.Share) apiShare {
	return apiShare{ID: sh.ID, Album: sh.AlbumID, Photos: sh.Photos, ExpiresAt: sh.ExpiresAt, Revoked: sh.RevokedAt != nil,
		HasPassword: sh.Password != "", AllowDownload: sh.AllowDownload, ShowMetadata: sh.ShowMetadata, CreatedAt: sh.CreatedAt}
}

// apiRevokeShare is DELETE /api/shares/{id}: the owner's only (404 for
// anyone else's, as for none).
func (s *Server) apiRevokeShare(w http.ResponseWriter, r *http.Request) {
	if err := s.revokeShare(r); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revokeShare(r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return storage.ErrNotFound
	}
	if err := s.st.RevokeShare(r.Context(), s.scope(r).User(), id); err != nil {
		return err
	}
	s.refreshSoon(r.Context())
	s.audit(r.Context(), "share-revoke", s.userName(r), s.clientAddr(r), "share "+strconv.FormatInt(id, 10))
	return nil
}

// sharesPage is GET /shares: the asker's links, with revoke buttons.
func (s *Server) sharesPage(w http.ResponseWriter, r *http.Request) {
	s.showShares(w, r, http.StatusOK, "")
}

func (s *Server) showShares(w http.ResponseWriter, r *http.Request, status int, newURL string) {
	list, err := s.st.Shares(r.Context(), s.scope(r).User())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header()["Cache-Control"] = noStore
	s.render(w, r, status, "shares", map[string]any{"Shares": list, "NewURL": newURL})
}

// shareForm is POST /shares, the photo page's "Share" form (field id,
// expires_in, password, allow_download, show_metadata): the new link is
// shown once on the page it answers with.
func (s *Server) shareForm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	req := shareRequest{IDs: r.PostForm["id"], ExpiresIn: r.PostForm.Get("expires_in"), Password: r.PostForm.Get("password"),
		AllowDownload: r.PostForm.Get("allow_download") == "true", ShowMetadata: r.PostForm.Get("show_metadata") == "true"}
	if a := r.PostForm.Get("album"); a != "" {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			s.fail(w, r, badRequest("invalid album"))
			return
		}
		req.Album = &n
	}
	id, u, err := s.makeShare(r, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), "share-add", s.userName(r), s.clientAddr(r), "share "+strconv.FormatInt(id, 10))
	s.showShares(w, r, http.StatusCreated, u)
}

// revokeShareForm is POST /shares/{id}/revoke.
func (s *Server) revokeShareForm(w http.ResponseWriter, r *http.Request) {
	if err := s.revokeShare(r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/shares", http.StatusSeeOther)
}

// userName names the asker for the audit log ("" without accounts).
func (s *Server) userName(r *http.Request) string {
	se, _ := currentSession(r)
	return se.UserName
}

// visitorShare reads the link of /s/{key}: 404 for no such link, 410 for
// one revoked or expired. It also says whether r holds its grant.
func (s *Server) visitorShare(w http.ResponseWriter, r *http.Request) (storage.Share, string, bool, bool) {
	w.Header()["Cache-Control"] = noStore
	w.Header()["Referrer-Policy"] = noReferrer
	key := r.PathValue("key")
	if len(key) != 43 {
		http.NotFound(w, r)
		return storage.Share{}, "", false, false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(key); err != nil {
		http.NotFound(w, r)
		return storage.Share{}, "", false, false
	}
	sh, err := s.st.ShareByKey(r.Context(), auth.HashToken(key))
	if err != nil {
		s.fail(w, r, err)
		return sh, "", false, false
	}
	if sh.RevokedAt != nil || (sh.ExpiresAt != nil && !time.Now().Before(*sh.ExpiresAt)) {
		s.renderVisitor(w, r, http.StatusGone, "share", map[string]any{"Gone": true})
		return sh, "", false, false
	}
	g, ok := s.shareGrant(r)
	return sh, key, true, ok && g == sh.ID
}

var noReferrer = []string{"no-referrer"}

// grantShare sets the share grant of sh (until the link's expiry, at most
// shareLife).
func (s *Server) grantShare(w http.ResponseWriter, r *http.Request, sh storage.Share) {
	key := s.auth.key.Load()
	if key == nil {
		return
	}
	exp := time.Now().Add(shareLife)
	if sh.ExpiresAt != nil && sh.ExpiresAt.Before(exp) {
		exp = *sh.ExpiresAt
	}
	s.setCookie(w, r, shareCookie, auth.SignGrant(shareGrantKey(*key), auth.Grant{Session: sh.ID, Exp: exp}), int(time.Until(exp)/time.Second)+1)
}

// sharePage is GET /s/{key}: the password form, or the shared photos.
func (s *Server) sharePage(w http.ResponseWriter, r *http.Request) {
	sh, key, ok, granted := s.visitorShare(w, r)
	if !ok {
		return
	}
	if !granted {
		if sh.Password != "" {
			s.renderVisitor(w, r, http.StatusOK, "share", map[string]any{"AskPassword": true, "Key": key})
			return
		}
		s.grantShare(w, r, sh)
	}
	after, err := storage.ParseCursor(r.URL.Query().Get("cursor"), library.ValidID)
	if err != nil || (after != nil && after.Ranked()) {
		s.fail(w, r, badRequest("invalid cursor"))
		return
	}
	photos, next, err := s.st.ListPhotos(r.Context(), storage.ListParams{After: after, Limit: pageSize, Only: storage.AnyState, Share: sh.ID})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := map[string]any{"Key": key, "Photos": photos, "Share": sh}
	if next != nil {
		data["NextURL"] = "/s/" + key + "?cursor=" + next.String()
	}
	s.renderVisitor(w, r, http.StatusOK, "share", data)
}

// sharePassword is POST /s/{key}: the link's password (a form field,
// never in a URL), throttled per client address and per link like
// sign-ins; right, it sets the share grant and goes back to the link.
func (s *Server) sharePassword(w http.ResponseWriter, r *http.Request) {
	sh, key, ok, _ := s.visitorShare(w, r)
	if !ok {
		return
	}
	if sh.Password == "" {
		http.Redirect(w, r, "/s/"+key, http.StatusSeeOther)
		return
	}
	addr, now, link := s.clientAddr(r), time.Now(), "share:"+strconv.FormatInt(sh.ID, 10)
	if wait := max(s.auth.byAddr.Blocked(addr, now), s.auth.byName.Blocked(link, now)); wait > 0 {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.renderVisitor(w, r, http.StatusTooManyRequests, "share", map[string]any{"AskPassword": true, "Key": key,
			"Error": "Too many wrong passwords: try again in " + wait.Round(time.Minute).String() + "."})
		return
	}
	good, verr, err := s.verify(r.Context(), sh.Password, r.PostFormValue("password"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if verr != nil || !good {
		s.auth.byAddr.Fail(addr, now)
		s.auth.byName.Fail(link, now)
		s.renderVisitor(w, r, http.StatusUnauthorized, "share", map[string]any{"AskPassword": true, "Key": key, "Error": "Wrong password."})
		return
	}
	s.auth.byName.Reset(link)
	s.grantShare(w, r, sh)
	http.Redirect(w, r, "/s/"+key, http.StatusSeeOther)
}

// sharePhotoPage is GET /s/{key}/p/{id}: one shared photo, its preview,
// and (when the link shows it) its metadata, never its file name.
func (s *Server) sharePhotoPage(w http.ResponseWriter, r *http.Request) {
	sh, key, ok, granted := s.visitorShare(w, r)
	if !ok {
		return
	}
	if !granted {
		http.Redirect(w, r, "/s/"+key, http.StatusSeeOther)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, in := s.vis.share(sh.ID).photos[id]; !in {
		s.fail(w, r, storage.ErrNotFound)
		return
	}
	p, err := s.st.Photo(r.Context(), storage.Scope{}, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Faces show where the link shows metadata, never otherwise.
	var faces []storage.Face
	if sh.ShowMetadata {
		if faces, err = s.st.PhotoFaces(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.renderVisitor(w, r, http.StatusOK, "sharephoto", map[string]any{"Key": key, "Photo": p, "Share": sh, "Faces": faces})
}

// renderVisitor renders a page of a share link's visitor: no search, no
// links to the rest of Shoebox.
func (s *Server) renderVisitor(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	data["Visitor"] = true
	s.render(w, r, status, page, data)
}

// refreshShares reloads the live links without accounts (no visibility
// table then, but links work the same).
func (s *Server) refreshShares(ctx context.Context) error {
	st := s.bg
	if st == nil {
		st = s.st
	}
	shares, err := st.LiveShares(ctx)
	if err != nil {
		return err
	}
	s.vis.setShares(shares)
	return nil
}
