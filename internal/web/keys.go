package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"shoebox/internal/auth"
	"shoebox/internal/storage"
)

// API keys. A request may carry "Authorization: Bearer KEY" on /api/*,
// on media and on /metrics only; pages ignore the header (they answer as
// without a session), and key management needs a signed-in session, so
// a key can never make or change keys. A key is looked up in the key
// table the auth poll keeps in memory (refreshAuth): no SQL on any
// request with a key, and a revoked key, or one of a removed account,
// is refused within a second in every process.

type keyCtx struct{}

// viaKey says whether r was let in by an API key (not a session).
func viaKey(r *http.Request) bool {
	_, ok := r.Context().Value(keyCtx{}).(storage.APIKey)
	return ok
}

// bearerToken is the key r carries, if any.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// keyRoute says whether p accepts API keys.
func keyRoute(p string) bool {
	return strings.HasPrefix(p, "/api/") || isMediaRoute(p) || p == "/metrics"
}

// keyAllows says whether a key of scope may make this request: metrics
// keys reach /metrics only, and /metrics takes metrics keys only; read
// keys read; a request other than GET or HEAD, or any about uploads, needs
// a write key.
func keyAllows(scope, method, p string) bool {
	if p == "/metrics" || scope == "metrics" {
		return p == "/metrics" && scope == "metrics"
	}
	if strings.HasPrefix(p, "/api/uploads/") {
		return scope == "write" // even a HEAD of an upload in progress is part of writing it
	}
	if method == http.MethodGet || method == http.MethodHead || (method == http.MethodPost && p == "/api/photos/download") {
		return scope == "read" || scope == "write" // a zip of a selection reads
	}
	return scope == "write"
}

// serveKey lets a request with a key through, as its owner with the
// owner's current role, or refuses it. No cookie is set: a key is no
// sign-in.
func (s *Server) serveKey(w http.ResponseWriter, r *http.Request, next http.Handler, token string) {
	w.Header()["Cache-Control"] = noStore
	var k storage.APIKey
	ok := false
	if m := s.auth.keys.Load(); m != nil && strings.HasPrefix(token, auth.APIKeyPrefix) {
		k, ok = (*m)[string(auth.HashToken(token))]
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		s.keyError(w, r, http.StatusUnauthorized, "unknown or revoked API key")
		return
	}
	if !keyAllows(k.Scope, r.Method, r.URL.Path) {
		s.keyError(w, r, http.StatusForbidden, "this key's scope ("+k.Scope+") does not allow this request")
		return
	}
	if r.URL.Path == "/metrics" && !k.Admin { // the server's figures are an admin's
		s.keyError(w, r, http.StatusForbidden, "metrics are for admins' keys")
		return
	}
	delete(w.Header(), "Cache-Control") // the handler says what may be cached
	if isMediaRoute(r.URL.Path) {
		s.serveMedia(w, r, next, k.UserID)
		return
	}
	ctx := context.WithValue(r.Context(), ctxKey{}, storage.Session{UserID: k.UserID, UserName: k.UserName, Admin: k.Admin})
	next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, keyCtx{}, k)))
}

func (s *Server) keyError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	http.Error(w, msg, status)
}

// sessionOnly is the signed-in session of r for key management: never a
// key, so a key cannot make keys or widen itself.
func sessionOnly(r *http.Request) (storage.Session, bool) {
	se, ok := currentSession(r)
	return se, ok && !viaKey(r)
}

// keysPage lists the account's keys (never their text).
func (s *Server) keysPage(w http.ResponseWriter, r *http.Request) {
	s.showKeys(w, r, http.StatusOK, "", "")
}

func (s *Server) showKeys(w http.ResponseWriter, r *http.Request, status int, newKey, msg string) {
	se, ok := sessionOnly(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	list, err := s.st.APIKeys(r.Context(), se.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header()["Cache-Control"] = noStore
	s.render(w, r, status, "keys", map[string]any{"Keys": list, "Name": se.UserName, "NewKey": newKey, "Error": msg, "Scopes": auth.Scopes})
}

// addKey makes a key of the signed-in account and shows it, once.
func (s *Server) addKey(w http.ResponseWriter, r *http.Request) {
	se, ok := sessionOnly(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	scope := r.PostFormValue("scope")
	if err := auth.CheckScope(scope); err != nil {
		s.showKeys(w, r, http.StatusBadRequest, "", err.Error())
		return
	}
	if scope == "metrics" && !se.Admin {
		s.showKeys(w, r, http.StatusForbidden, "", "metrics keys are for admins")
		return
	}
	key, hash := auth.NewAPIKey()
	k, err := s.st.AddAPIKey(r.Context(), se.UserID, hash, scope)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), "key-add", se.UserName, s.clientAddr(r), "key "+strconv.FormatInt(k.ID, 10)+" scope "+scope)
	s.showKeys(w, r, http.StatusOK, key, "")
}

// revokeKey deletes one of the signed-in account's keys.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	se, ok := sessionOnly(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, badRequest("key id %q", r.PathValue("id")))
		return
	}
	k, err := s.st.RevokeAPIKey(r.Context(), se.UserID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), "key-revoke", se.UserName, s.clientAddr(r), "key "+strconv.FormatInt(k.ID, 10)+" scope "+k.Scope)
	http.Redirect(w, r, "/account/keys", http.StatusSeeOther)
}

const auditPage = 100

// auditLog serves the audit log to admins (a page, and /api/audit for
// an admin's key), newest first, by pages of ids below ?before=.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	se, ok := currentSession(r)
	if !ok { // no account exists: no audit to guard
		http.NotFound(w, r)
		return
	}
	if !se.Admin {
		s.fail(w, r, forbidden("the audit log is for admins"))
		return
	}
	var before int64
	if b := r.FormValue("before"); b != "" {
		var err error
		if before, err = strconv.ParseInt(b, 10, 64); err != nil || before < 1 {
			s.fail(w, r, badRequest("before %q: want a positive id", b))
			return
		}
	}
	rows, err := s.st.AuditLog(r.Context(), before, auditPage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next int64
	if len(rows) == auditPage {
		next = rows[len(rows)-1].ID
	}
	w.Header()["Cache-Control"] = noStore
	if strings.HasPrefix(r.URL.Path, "/api/") {
		type row struct {
			ID       int64  `json:"id"`
			At       string `json:"at"`
			Event    string `json:"event"`
			Username string `json:"username"`
			Address  string `json:"address"`
			Detail   string `json:"detail"`
		}
		out := make([]row, len(rows))
		for i, a := range rows {
			out[i] = row{a.ID, a.At.UTC().Format("2006-01-02T15:04:05Z07:00"), a.Event, a.Username, a.Address, a.Detail}
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_before": next})
		return
	}
	s.render(w, r, http.StatusOK, "audit", map[string]any{"Rows": rows, "Next": next})
}

var errForbidden = errors.New("forbidden")

func forbidden(msg string) error { return fmt.Errorf("%w: %s", errForbidden, msg) }
