package web

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"shoebox/internal/auth"
	"shoebox/internal/storage"
)

// Access is how the server meets the network: the address it listens on,
// the extra Host names accepted without accounts (SHOEBOX_ALLOWED_HOSTS),
// and the proxies whose X-Forwarded-* headers are believed
// (SHOEBOX_TRUSTED_PROXIES). Without it: loopback names only, no proxy.
type Access struct {
	Listen         string
	AllowedHosts   []string
	TrustedProxies []netip.Prefix
}

// SetAccess sets how the server meets the network. Call it before serving.
func (s *Server) SetAccess(a Access) {
	s.access = a
	// The names hostAllowed accepts besides localhost and loopback IPs,
	// normalised once rather than on every request of the no-account mode.
	s.hosts = map[string]bool{}
	if lh, _, err := net.SplitHostPort(a.Listen); err == nil && lh != "" {
		s.hosts[strings.ToLower(strings.Trim(lh, "[]"))] = true
	}
	for _, h := range a.AllowedHosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			s.hosts[h] = true
		}
	}
}

// Timeouts and limits of sign-in.
const (
	sessionIdle     = 7 * 24 * time.Hour
	sessionAbsolute = 30 * 24 * time.Hour
	grantLife       = 15 * time.Minute
	grantRefresh    = 10 * time.Minute // a grant with less left is renewed
	revalidateAfter = time.Second      // a cached session older than this is checked again
	pollEvery       = time.Second
	// revokedWindow outlives any grant: a grant of a session revoked
	// earlier has expired by itself.
	revokedWindow = grantLife + 5*time.Minute
	grantKeyName  = "media_grant_key"
)

// accounts modes, as last learned from the database.
const (
	modeUnknown int32 = iota // not yet read: fail closed
	modeOpen                 // no account: loopback only, Host checked
	modeAccounts
)

// authState is what the background poll keeps fresh.
type authState struct {
	mode     atomic.Int32
	key      atomic.Pointer[[]byte]
	revoked  atomic.Pointer[map[int64]struct{}]
	keys     atomic.Pointer[map[string]storage.APIKey] // API keys by hash (keys.go)
	sessions *lru.Cache[string, *cachedSession]
	// touch merges the re-checks of one session that fall due at once: at
	// thousands of requests a second, every request in flight when an entry
	// ages would otherwise run its own UPDATE of the same row.
	touch  singleflight.Group
	byAddr *auth.Throttle
	byName *auth.Throttle
	// hashing bounds the Argon2id verifications running at once (19 MiB
	// each): a flood of sign-ins waits here instead of exhausting memory.
	hashing  chan struct{}
	grants   grantCache // media grants verified already (mediaGrant)
	stop     chan struct{}
	stopOnce sync.Once
}

type cachedSession struct {
	se      storage.Session
	checked time.Time
}

func newAuthState() *authState {
	c, _ := lru.New[string, *cachedSession](10000)
	return &authState{sessions: c, byAddr: auth.NewThrottle(5, 15*time.Minute), byName: auth.NewThrottle(5, 15*time.Minute),
		hashing: make(chan struct{}, runtime.NumCPU()), stop: make(chan struct{})}
}

// refresh reads the accounts mode, recent revocations and the API keys
// (and the grant key, once) from st.
func (s *Server) refreshAuth(ctx context.Context, st *storage.Storage) error {
	if s.auth.key.Load() == nil {
		k := make([]byte, auth.GrantKeyLen)
		rand.Read(k)
		k, err := st.EnsureSetting(ctx, grantKeyName, k)
		if err != nil {
			return err
		}
		s.auth.key.Store(&k)
	}
	accounts, ids, err := st.AuthState(ctx, revokedWindow)
	if err != nil {
		return err
	}
	keys, err := st.APIKeyTable(ctx)
	if err != nil {
		return err
	}
	s.auth.keys.Store(&keys)
	rev := make(map[int64]struct{}, len(ids))
	for _, id := range ids {
		rev[id] = struct{}{}
	}
	s.auth.revoked.Store(&rev)
	if accounts {
		// Who sees what is known before the accounts mode is: until then
		// pages refresh it themselves (modeUnknown) and media wait.
		if err := s.refreshVisibility(ctx, st); err != nil {
			return err
		}
		s.auth.mode.Store(modeAccounts)
	} else {
		s.auth.mode.Store(modeOpen)
		s.vis.clear()
		shares, err := st.LiveShares(ctx)
		if err != nil {
			return err
		}
		s.vis.setShares(shares)
	}
	return nil
}

// pollAuth refreshes the auth state every second on the background share
// (never on a request's path), so a session or API key revoked by any
// process is refused here within a second, media included.
func (s *Server) pollAuth() {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		select {
		case <-s.auth.stop:
			return
		case <-t.C:
		}
		// With every connection of the budget taken, skip a round rather
		// than queue behind the pages being shed (and count as one of them).
		if st := s.db.Pool.Stat(); st.AcquiredConns() >= st.MaxConns() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.refreshAuth(ctx, s.bg); err != nil {
			s.log.Debug("auth poll", "err", err)
		}
		cancel()
	}
}

// Close stops the server's background work (the auth poll).
func (s *Server) Close() { s.auth.stopOnce.Do(func() { close(s.auth.stop) }) }

// revoked says whether session id was ended (as of the last poll).
func (s *Server) revoked(id int64) bool {
	m := s.auth.revoked.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[id]
	return ok
}

type ctxKey struct{}

// currentSession is the signed-in session of r, if any.
func currentSession(r *http.Request) (storage.Session, bool) {
	se, ok := r.Context().Value(ctxKey{}).(storage.Session)
	return se, ok
}

// guard decides who may reach what, before any handler runs.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(p, "/s/") && s.auth.mode.Load() == modeAccounts {
			// A share link's pages: for anyone holding the link (its
			// handlers check the key, the expiry and the password).
			next.ServeHTTP(w, r)
			return
		}
		mode := s.auth.mode.Load()
		if mode == modeUnknown {
			if isMediaRoute(p) { // no SQL on the media path, even now
				w.Header().Set("Retry-After", "1")
				http.Error(w, "starting: please retry shortly", http.StatusServiceUnavailable)
				return
			}
			if err := s.refreshAuth(r.Context(), s.st); err != nil {
				s.fail(w, r, err)
				return
			}
			mode = s.auth.mode.Load()
		}
		if mode == modeOpen {
			// Without accounts the library is this machine's only. serve
			// refuses a non-loopback address at start, but the last
			// account can be removed while it listens anywhere, and a
			// proxy here can forward the network: neither reaches it.
			if !s.fromThisMachine(r) {
				http.Error(w, "no account exists: Shoebox answers this machine only until one is created "+
					"(shoebox user add NAME --admin --password-stdin)", http.StatusForbidden)
				return
			}
			if !s.hostAllowed(r.Host) {
				http.Error(w, "misdirected request: this Host is not served (set SHOEBOX_ALLOWED_HOSTS)", http.StatusMisdirectedRequest)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		// A key answers for itself on the routes that take keys; pages
		// ignore it (below: as without a session).
		if token, ok := bearerToken(r); ok && keyRoute(p) {
			s.serveKey(w, r, next, token)
			return
		}
		if isMediaRoute(p) {
			g, signed := s.mediaGrant(r)
			switch share, shared := s.shareGrant(r); {
			case signed && (!shared || s.vis.sees(g.User, mediaID(p))):
				s.serveMedia(w, r, next, g.User)
			case shared:
				s.serveShareMedia(w, r, next, share)
			default:
				w.Header()["Cache-Control"] = noStore
				http.Error(w, "sign in to see photos", http.StatusUnauthorized)
			}
			return
		}
		if p == "/metrics" {
			if !s.fromThisMachine(r) {
				http.Error(w, "metrics are served to loopback only when accounts exist", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		se, err := s.session(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if se == nil {
			if p == "/login" || p == "/setup" {
				next.ServeHTTP(w, r)
				return
			}
			s.unauthorized(w, r)
			return
		}
		s.grantMedia(w, r, se)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, *se)))
	})
}

// unauthorized answers a request without a session: 401 for the API, a
// redirect to the sign-in page for pages.
func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header()["Cache-Control"] = noStore
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first"})
		return
	}
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet || !localPath(next) {
		next = "/"
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// localPath says whether next may be redirected to after sign-in: a path
// of this site, never another host (//host, /\host, scheme:).
func localPath(next string) bool {
	return strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.HasPrefix(next, "/\\") &&
		!strings.ContainsAny(next, "\r\n\t")
}

// session returns r's live session, or nil. A cached session younger than
// revalidateAfter costs no query; an older one is checked (and marked
// seen) with one statement on the foreground pool.
func (s *Server) session(r *http.Request) (*storage.Session, error) {
	c, err := r.Cookie(s.cookieName(r, sessionCookie))
	if err != nil || len(c.Value) != 43 {
		return nil, nil
	}
	key := string(auth.HashToken(c.Value))
	now := time.Now()
	if e, ok := s.auth.sessions.Get(key); ok {
		if s.revoked(e.se.ID) {
			s.auth.sessions.Remove(key)
			return nil, nil
		}
		if now.Sub(e.checked) < revalidateAfter {
			return &e.se, nil
		}
	}
	// The shared check must not die with the request that happened to start
	// it; the pool's acquire deadline and statement_timeout still bound it.
	ctx := context.WithoutCancel(r.Context())
	v, err, _ := s.auth.touch.Do(key, func() (any, error) {
		return s.st.TouchSession(ctx, []byte(key), sessionIdle, sessionAbsolute)
	})
	var se storage.Session
	if err == nil {
		se = v.(storage.Session)
	}
	if errors.Is(err, storage.ErrNotFound) {
		s.auth.sessions.Remove(key)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if s.revoked(se.ID) {
		return nil, nil
	}
	s.auth.sessions.Add(key, &cachedSession{se: se, checked: now})
	return &se, nil
}

// Cookie names; over TLS they take the __Host- prefix (Secure, Path=/, no
// Domain: no sibling host or plain-HTTP page can set them).
const (
	sessionCookie = "shoebox_session"
	mediaCookie   = "shoebox_media"
)

func (s *Server) cookieName(r *http.Request, base string) string {
	if s.secure(r) {
		return "__Host-" + base
	}
	return base
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, base, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r, base), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

// grantMedia sets (or renews) the signed media cookie of se: what lets
// its thumbnails, previews and originals be served with no SQL.
func (s *Server) grantMedia(w http.ResponseWriter, r *http.Request, se *storage.Session) {
	key := s.auth.key.Load()
	if key == nil {
		return
	}
	now := time.Now()
	if c, err := r.Cookie(s.cookieName(r, mediaCookie)); err == nil {
		if g, err := auth.VerifyGrant(*key, c.Value, now); err == nil && g.Session == se.ID && g.Exp.Sub(now) > grantRefresh {
			return
		}
	}
	exp := now.Add(grantLife)
	if end := se.CreatedAt.Add(sessionAbsolute); end.Before(exp) {
		exp = end
	}
	s.setCookie(w, r, mediaCookie, auth.SignGrant(*key, auth.Grant{Session: se.ID, User: se.UserID, Exp: exp}), int(grantLife/time.Second))
}

// mediaGrant checks r's media grant: signature, expiry, revocation. No
// SQL, and no HMAC either for a grant verified before: a gallery's worth
// of thumbnails costs a map lookup each.
func (s *Server) mediaGrant(r *http.Request) (auth.Grant, bool) {
	key := s.auth.key.Load()
	if key == nil {
		return auth.Grant{}, false
	}
	v, ok := cookieValue(r, s.cookieName(r, mediaCookie))
	if !ok {
		return auth.Grant{}, false
	}
	now := time.Now()
	g, ok := s.auth.grants.get(v)
	if !ok {
		var err error
		if g, err = auth.VerifyGrant(*key, v, now); err != nil {
			return auth.Grant{}, false
		}
		s.auth.grants.put(v, g)
	}
	return g, now.Before(g.Exp) && !s.revoked(g.Session)
}

// serveMedia serves a media request of user when they may see its photo,
// and answers 404 otherwise: the same as for no such photo, so an id
// tells nothing about whether another user holds it.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, next http.Handler, user int64) {
	if !s.vis.sees(user, mediaID(r.URL.Path)) {
		w.Header()["Cache-Control"] = noStore
		http.NotFound(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/original/") { // names the file: whose matters (original)
		r = r.WithContext(context.WithValue(r.Context(), mediaUserKey{}, user))
	}
	next.ServeHTTP(w, r)
}

type mediaUserKey struct{}

// grantCache remembers grants whose HMAC was verified, by cookie value.
// Its size is bounded: past the limit it starts afresh.
type grantCache struct {
	m atomic.Pointer[sync.Map]
	n atomic.Int64
}

const maxCachedGrants = 8192

func (c *grantCache) get(v string) (auth.Grant, bool) {
	m := c.m.Load()
	if m == nil {
		return auth.Grant{}, false
	}
	g, ok := m.Load(v)
	if !ok {
		return auth.Grant{}, false
	}
	return g.(auth.Grant), true
}

func (c *grantCache) put(v string, g auth.Grant) {
	m := c.m.Load()
	if m == nil || c.n.Load() >= maxCachedGrants {
		m = &sync.Map{}
		c.m.Store(m)
		c.n.Store(0)
	}
	if _, loaded := m.LoadOrStore(v, g); !loaded {
		c.n.Add(1)
	}
}

// cookieValue is the value of r's cookie name, read without parsing the
// other cookies (http.Request.Cookie builds them all, on every thumbnail).
func cookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if v, ok := strings.CutPrefix(part, name); ok && strings.HasPrefix(v, "=") {
				return strings.Trim(v[1:], `"`), true
			}
		}
	}
	return "", false
}

// secure says whether r came over TLS: directly, or through a trusted
// proxy that says so. A forwarded header from anyone else is ignored.
func (s *Server) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.fromTrustedProxy(r) && strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

func (s *Server) fromTrustedProxy(r *http.Request) bool {
	if len(s.access.TrustedProxies) == 0 {
		return false
	}
	ip, ok := remoteIP(r.RemoteAddr)
	if !ok {
		return false
	}
	for _, p := range s.access.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// clientAddr is the address sign-ins are throttled and audited by: the
// peer, or the last X-Forwarded-For hop when the peer is a trusted proxy.
func (s *Server) clientAddr(r *http.Request) string {
	ip, _ := remoteIP(r.RemoteAddr)
	if s.fromTrustedProxy(r) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			hops := strings.Split(xff[len(xff)-1], ",")
			if a, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1])); err == nil {
				return a.Unmap().String()
			}
		}
	}
	return ip.String()
}

func remoteIP(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// isLoopback says whether the peer (RemoteAddr, never a header) is this machine.
func isLoopback(remote string) bool {
	ip, ok := remoteIP(remote)
	return ok && ip.IsLoopback()
}

// fromThisMachine is what /setup and /metrics ask: the peer is loopback
// (RemoteAddr grants it, never a header) and the request was not
// forwarded by a proxy on this machine for someone else (a forwarding
// header, or a trusted proxy, takes it away).
func (s *Server) fromThisMachine(r *http.Request) bool {
	if !isLoopback(r.RemoteAddr) || s.fromTrustedProxy(r) {
		return false
	}
	_, xff := r.Header["X-Forwarded-For"]
	_, fwd := r.Header["Forwarded"]
	_, xri := r.Header["X-Real-Ip"]
	return !xff && !fwd && !xri
}

// hostAllowed guards the no-account mode against DNS rebinding: a page of
// another site whose name was made to point here sends its own name as
// Host, which is refused.
func (s *Server) hostAllowed(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	if h == "localhost" {
		return true
	}
	if ip, err := netip.ParseAddr(h); err == nil && ip.IsLoopback() {
		return true
	}
	return s.hosts[h]
}

func isMediaRoute(p string) bool {
	return strings.HasPrefix(p, "/thumbnail/") || strings.HasPrefix(p, "/preview/") || strings.HasPrefix(p, "/original/") ||
		strings.HasPrefix(p, "/video/")
}

// accountsExist says whether the server last saw any account (for the
// Cache-Control of media: private when accounts exist).
func (s *Server) accountsExist() bool { return s.auth != nil && s.auth.mode.Load() == modeAccounts }

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
