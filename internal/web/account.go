package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"shoebox/internal/auth"
	"shoebox/internal/storage"
)

// loginPage shows the sign-in form.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", map[string]any{"Next": nextOf(r)})
}

func nextOf(r *http.Request) string {
	if n := r.FormValue("next"); localPath(n) {
		return n
	}
	return "/"
}

// login checks a name and password, throttled per client address and per
// account; an unknown name costs the same hash as a wrong password.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name, password, next := r.PostFormValue("username"), r.PostFormValue("password"), nextOf(r)
	addr, now := s.clientAddr(r), time.Now()
	if wait := max(s.auth.byAddr.Blocked(addr, now), s.auth.byName.Blocked(name, now)); wait > 0 {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.render(w, r, http.StatusTooManyRequests, "login", map[string]any{"Next": next, "Name": name,
			"Error": "Too many failed sign-ins: try again in " + wait.Round(time.Minute).String() + "."})
		return
	}
	u, err := s.st.UserByName(r.Context(), name)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	hash := u.Password
	if err != nil {
		hash = auth.DummyHash
	}
	ok, verr, err2 := s.verify(r.Context(), hash, password)
	if err2 != nil {
		s.fail(w, r, err2)
		return
	}
	if err != nil || verr != nil || !ok {
		s.auth.byAddr.Fail(addr, now)
		s.auth.byName.Fail(name, now)
		s.audit(r.Context(), "signin-failed", name, addr, "")
		s.render(w, r, http.StatusUnauthorized, "login", map[string]any{"Next": next, "Name": name, "Error": "Wrong name or password."})
		return
	}
	s.auth.byName.Reset(name)
	if err := s.signIn(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), "signin", name, addr, "")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signIn starts a session of u: its cookie and a media grant.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, u storage.User) error {
	token, hash := auth.NewToken()
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	se, err := s.st.AddSession(r.Context(), u.ID, hash, s.clientAddr(r), ua)
	if err != nil {
		return err
	}
	s.setCookie(w, r, sessionCookie, token, int(sessionAbsolute/time.Second))
	s.grantMedia(w, r, &se)
	return nil
}

// logout ends the current session and clears its cookies.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	se, ok := currentSession(r)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := s.st.RevokeSession(r.Context(), se.UserID, se.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.fail(w, r, err)
		return
	}
	s.setCookie(w, r, sessionCookie, "", -1)
	s.setCookie(w, r, mediaCookie, "", -1)
	s.audit(r.Context(), "signout", se.UserName, s.clientAddr(r), "")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setupAllowed: the first-run page exists only for this machine (the
// peer address, never a header) and only while no account exists.
func (s *Server) setupAllowed(r *http.Request) bool {
	return s.fromThisMachine(r) && s.auth.mode.Load() == modeOpen
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request) {
	if !s.setupAllowed(r) {
		http.NotFound(w, r)
		return
	}
	s.render(w, r, http.StatusOK, "setup", map[string]any{})
}

// setup creates the first admin; the insert itself fails once any account
// exists (storage.AddFirstAdmin), so two racing requests make one.
func (s *Server) setup(w http.ResponseWriter, r *http.Request) {
	if !s.setupAllowed(r) {
		http.NotFound(w, r)
		return
	}
	name, password := r.PostFormValue("username"), r.PostFormValue("password")
	msg := ""
	if err := auth.CheckName(name); err != nil {
		msg = err.Error()
	} else if err := auth.CheckPassword(password); err != nil {
		msg = err.Error()
	}
	if msg != "" {
		s.render(w, r, http.StatusBadRequest, "setup", map[string]any{"Name": name, "Error": msg})
		return
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.st.AddFirstAdmin(r.Context(), name, hash)
	if errors.Is(err, storage.ErrExists) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Signed-in mode from now on, with who sees what (the new admin owns
	// the libraries so far); the poll would learn it within a second.
	if err := s.refreshAuth(r.Context(), s.st); err != nil {
		s.auth.mode.Store(modeAccounts)
	}
	s.audit(r.Context(), "setup", name, s.clientAddr(r), "first admin")
	if err := s.signIn(w, r, storage.User{ID: id, Name: name, Admin: true}); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sessionsPage lists the signed-in account's sessions.
func (s *Server) sessionsPage(w http.ResponseWriter, r *http.Request) {
	se, ok := currentSession(r)
	if !ok { // no account exists: nothing to show
		http.NotFound(w, r)
		return
	}
	list, err := s.st.Sessions(r.Context(), se.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "sessions", map[string]any{"Sessions": list, "Current": se.ID, "Name": se.UserName})
}

// endSession signs out one of the account's sessions.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	se, ok := currentSession(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, badRequest("session id %q", r.PathValue("id")))
		return
	}
	if err := s.st.RevokeSession(r.Context(), se.UserID, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), "session-revoke", se.UserName, s.clientAddr(r), strconv.FormatInt(id, 10))
	http.Redirect(w, r, "/account/sessions", http.StatusSeeOther)
}

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := currentSession(r); !ok {
		http.NotFound(w, r)
		return
	}
	s.render(w, r, http.StatusOK, "password", map[string]any{})
}

// changePassword needs the current password; the other sessions end.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	se, ok := currentSession(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	addr, now := s.clientAddr(r), time.Now()
	if wait := s.auth.byName.Blocked(se.UserName, now); wait > 0 {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.render(w, r, http.StatusTooManyRequests, "password", map[string]any{"Error": "Too many failed attempts: try again later."})
		return
	}
	u, err := s.st.UserByName(r.Context(), se.UserName)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ok, _, err = s.verify(r.Context(), u.Password, r.PostFormValue("current"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.auth.byName.Fail(se.UserName, now)
		s.audit(r.Context(), "password-failed", se.UserName, addr, "")
		s.render(w, r, http.StatusUnauthorized, "password", map[string]any{"Error": "The current password is wrong."})
		return
	}
	hash, err := auth.HashPassword(r.PostFormValue("password"))
	if err != nil {
		s.render(w, r, http.StatusBadRequest, "password", map[string]any{"Error": err.Error()})
		return
	}
	if err := s.st.SetPassword(r.Context(), u.ID, hash, se.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r.Context(), "password", se.UserName, addr, "other sessions ended")
	s.render(w, r, http.StatusOK, "password", map[string]any{"Done": true})
}

// verify checks a password within the bound on concurrent hashing; err
// is the request's own end (the client left while waiting).
func (s *Server) verify(ctx context.Context, hash, password string) (ok bool, verr, err error) {
	select {
	case s.auth.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, nil, ctx.Err()
	}
	defer func() { <-s.auth.hashing }()
	ok, verr = auth.VerifyPassword(hash, password)
	return ok, verr, nil
}

// audit writes an audit row; a failure to write it is logged, not fatal.
func (s *Server) audit(ctx context.Context, event, name, addr, detail string) {
	if err := s.st.Audit(ctx, event, name, addr, detail); err != nil {
		s.log.Warn("audit", "event", event, "err", err)
	}
}
