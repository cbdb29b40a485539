package web_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shoebox/internal/auth"
	"shoebox/internal/web"
)

const pw = "a long enough password"

// client is a browser: a cookie jar, redirects not followed.
func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func signIn(t *testing.T, s *site, name string) *http.Client {
	t.Helper()
	c := client(t)
	resp, _ := do(t, c, "POST", s.srv.URL+"/login", url.Values{"username": {name}, "password": {pw}, "next": {"/stats"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/stats" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return c
}

func TestAccountsModes(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	h := s.srv.Config.Handler
	anon := client(t)

	// No account: open on loopback, foreign Host names refused (DNS rebinding).
	if resp, _ := do(t, anon, "GET", s.srv.URL+"/", nil); resp.StatusCode != 200 {
		t.Fatalf("no account: / %d", resp.StatusCode)
	}
	for _, host := range []string{"evil.example", "evil.example:80", "127.0.0.1.evil.example"} {
		req := httptest.NewRequest("GET", "/api/photos", nil)
		req.Host, req.RemoteAddr = host, "127.0.0.1:5000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusMisdirectedRequest {
			t.Errorf("Host %s: %d, want 421", host, rec.Code)
		}
	}
	// Nor another machine, whatever Host it sends (the last account can be
	// removed while serve listens on the network), nor a request a proxy on
	// this machine forwarded for someone else.
	for _, tc := range []struct{ remote, header string }{{"192.0.2.7:5000", ""}, {"[2001:db8::1]:5000", ""}, {"127.0.0.1:5000", "X-Forwarded-For"}, {"127.0.0.1:5000", "Forwarded"}} {
		req := httptest.NewRequest("GET", "/api/photos", nil)
		req.Host, req.RemoteAddr = "127.0.0.1:8080", tc.remote
		if tc.header != "" {
			req.Header.Set(tc.header, "for=203.0.113.9")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "user add") {
			t.Errorf("no account, from %s %s: %d %q, want 403 naming user add", tc.remote, tc.header, rec.Code, rec.Body.String())
		}
	}
	// /setup answers this machine only.
	req := httptest.NewRequest("GET", "/setup", nil)
	req.Host, req.RemoteAddr = "localhost:8080", "192.0.2.7:5000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 403 && rec.Code != 404 {
		t.Fatalf("setup from another machine: %d", rec.Code)
	}
	req = httptest.NewRequest("POST", "/setup", strings.NewReader(url.Values{"username": {"mallory"}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host, req.RemoteAddr = "localhost:8080", "192.0.2.7:5000"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 403 && rec.Code != 404 {
		t.Fatalf("setup POST from another machine: %d", rec.Code)
	}
	// Nor to a request a proxy on this machine forwarded for someone else.
	if resp, _ := do(t, anon, "GET", s.srv.URL+"/setup", nil, "X-Forwarded-For", "203.0.113.9"); resp.StatusCode != 403 && resp.StatusCode != 404 {
		t.Fatalf("setup through a local proxy: %d", resp.StatusCode)
	}
	if resp, _ := do(t, anon, "POST", s.srv.URL+"/setup", url.Values{"username": {"anna"}, "password": {"short"}}); resp.StatusCode != 400 {
		t.Fatalf("setup with a short password: %d", resp.StatusCode)
	}
	admin := client(t)
	if resp, _ := do(t, admin, "POST", s.srv.URL+"/setup", url.Values{"username": {"anna"}, "password": {pw}}); resp.StatusCode != 303 {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	if resp, _ := do(t, anon, "POST", s.srv.URL+"/setup", url.Values{"username": {"eve"}, "password": {pw}}); resp.StatusCode != 404 {
		t.Fatalf("second setup: %d", resp.StatusCode)
	}
	if resp, _ := do(t, anon, "GET", s.srv.URL+"/setup", nil); resp.StatusCode == 200 {
		t.Fatal("setup page shown once an account exists")
	}
	if resp, _ := do(t, admin, "GET", s.srv.URL+"/", nil); resp.StatusCode != 200 {
		t.Fatalf("admin after setup: %d", resp.StatusCode)
	}

	// Accounts exist: nothing without signing in.
	resp, _ := do(t, anon, "GET", s.srv.URL+"/search?q=x", nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?next="+url.QueryEscape("/search?q=x") {
		t.Fatalf("page without session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, p := range []string{"/api/photos", "/api/stats", "/thumbnail/" + s.ids[0], "/preview/" + s.ids[0], "/original/" + s.ids[0]} {
		if resp, _ := do(t, anon, "GET", s.srv.URL+p, nil); resp.StatusCode != 401 {
			t.Errorf("%s without session: %d, want 401", p, resp.StatusCode)
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/login", "/metrics"} {
		if resp, _ := do(t, anon, "GET", s.srv.URL+p, nil); resp.StatusCode != 200 {
			t.Errorf("%s: %d, want 200", p, resp.StatusCode)
		}
	}
	req = httptest.NewRequest("GET", "/metrics", nil)
	req.RemoteAddr = "192.0.2.7:5000"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 403 {
		t.Fatalf("metrics from another machine with accounts: %d", rec.Code)
	}
	// An open redirect through next is refused.
	c := client(t)
	resp, _ = do(t, c, "POST", s.srv.URL+"/login", url.Values{"username": {"anna"}, "password": {pw}, "next": {"//evil.example/"}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("next=//evil.example: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Signed in: cookies with the right attributes, media private.
	c = client(t)
	resp, _ = do(t, c, "POST", s.srv.URL+"/login", url.Values{"username": {"anna"}, "password": {pw}, "next": {"/stats"}})
	names := map[string]*http.Cookie{}
	for _, ck := range resp.Cookies() {
		names[ck.Name] = ck
	}
	for _, n := range []string{"shoebox_session", "shoebox_media"} {
		ck := names[n]
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
			t.Fatalf("cookie %s over plain HTTP: %+v", n, ck)
		}
	}
	if resp, _ := do(t, c, "GET", s.srv.URL+"/", nil); resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("gallery signed in: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body := do(t, c, "GET", s.srv.URL+"/thumbnail/"+s.ids[0], nil)
	if resp.StatusCode != 200 || body != "webp-bytes-"+s.ids[0] || resp.Header.Get("Cache-Control") != "private, max-age=31536000, immutable" {
		t.Fatalf("thumbnail signed in: %d %q %q", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	// A tampered media grant is refused.
	u, _ := url.Parse(s.srv.URL)
	forged := client(t)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "shoebox_media" {
			v := []byte(ck.Value)
			v[5] ^= 1
			forged.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: string(v)}})
		}
	}
	if resp, _ := do(t, forged, "GET", s.srv.URL+"/thumbnail/"+s.ids[0], nil); resp.StatusCode != 401 {
		t.Fatalf("tampered grant: %d", resp.StatusCode)
	}

	// Cross-site state changes are refused.
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		if resp, _ := do(t, client(t), "POST", s.srv.URL+"/login", url.Values{"username": {"anna"}, "password": {pw}}, hdr...); resp.StatusCode != 403 {
			t.Errorf("cross-site login (%s): %d", hdr[0], resp.StatusCode)
		}
		if resp, _ := do(t, c, "POST", s.srv.URL+"/logout", url.Values{}, hdr...); resp.StatusCode != 403 {
			t.Errorf("cross-site logout (%s): %d", hdr[0], resp.StatusCode)
		}
	}
	if resp, _ := do(t, c, "GET", s.srv.URL+"/api/photos", nil); resp.StatusCode != 200 {
		t.Fatalf("session ended by a cross-site logout: %d", resp.StatusCode)
	}
	if n, _ := s.st.AuditEvents(context.Background(), "signin", "anna"); n < 2 {
		t.Fatalf("%d sign-in audit rows", n)
	}
}

func addUser(t *testing.T, s *site, name string) {
	t.Helper()
	c := client(t)
	if resp, _ := do(t, c, "POST", s.srv.URL+"/setup", url.Values{"username": {name}, "password": {pw}}); resp.StatusCode != 303 {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
}

// addMember makes a member account (password pw) through storage.
func addMember(t *testing.T, s *site, name string) int64 {
	t.Helper()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.st.AddUser(context.Background(), name, hash, false)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// annaAndBen makes two accounts on s: anna, the admin (s's own photos
// are hers), and ben, a member with a library of n photos of his own. It
// gives both signed in, once ben sees his photos, and ben's photo ids.
func annaAndBen(t *testing.T, s *site, n int) (anna, ben *http.Client, bens []string) {
	t.Helper()
	addUser(t, s, "anna")
	addMember(t, s, "ben")
	bens = addLibrary(t, s, "/ben", "ben", n)
	anna, ben = signIn(t, s, "anna"), signIn(t, s, "ben")
	eventually(t, "ben's library in his sight", func() bool {
		resp, _ := do(t, ben, "GET", s.srv.URL+"/api/photos/"+bens[0], nil)
		return resp.StatusCode == 200
	})
	return anna, ben, bens
}

func TestRevocationReachesPagesAndMedia(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	addUser(t, s, "anna")
	a, b := signIn(t, s, "anna"), signIn(t, s, "anna")
	thumb := s.srv.URL + "/thumbnail/" + s.ids[0]
	for _, c := range []*http.Client{a, b} {
		if resp, _ := do(t, c, "GET", thumb, nil); resp.StatusCode != 200 {
			t.Fatalf("thumbnail: %d", resp.StatusCode)
		}
	}
	// Media with every connection of the budget held: zero SQL.
	var held []*pgxpool.Conn
	for i := 0; i < 4; i++ {
		conn, err := s.db.Pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	for i := 0; i < 20; i++ {
		if resp, _ := do(t, b, "GET", thumb, nil); resp.StatusCode != 200 {
			t.Fatalf("thumbnail with the pool exhausted: %d", resp.StatusCode)
		}
	}
	for _, conn := range held {
		conn.Release()
	}

	// The sessions page lists them; "sign out" ends another one.
	c := signIn(t, s, "anna")
	resp, page := do(t, a, "GET", s.srv.URL+"/account/sessions", nil)
	if resp.StatusCode != 200 || strings.Count(page, "this one") != 1 || strings.Count(page, "/signout\"") != 3 { // the setup session, b and c
		t.Fatalf("sessions page: %d\n%s", resp.StatusCode, page)
	}
	_, cPage := do(t, c, "GET", s.srv.URL+"/account/sessions", nil)
	var cAction string
	for _, part := range strings.Split(page, `action="`)[1:] {
		action := part[:strings.Index(part, `"`)]
		if strings.HasSuffix(action, "/signout") && !strings.Contains(cPage, `action="`+action+`"`) {
			cAction = action // the one c's own page does not offer: c itself
		}
	}
	if cAction == "" {
		t.Fatal("no sign-out form for the third session")
	}
	if resp, _ := do(t, a, "POST", s.srv.URL+cAction, url.Values{}); resp.StatusCode != 303 {
		t.Fatalf("sign out another session: %d", resp.StatusCode)
	}
	eventually(t, "the signed-out session refused", func() bool {
		resp, _ := do(t, c, "GET", s.srv.URL+"/api/photos", nil)
		return resp.StatusCode == 401
	})

	// A password change (current one required) ends the other sessions.
	if resp, _ := do(t, a, "POST", s.srv.URL+"/account/password", url.Values{"current": {"wrong password!"}, "password": {"another long password"}}); resp.StatusCode != 401 {
		t.Fatalf("password change with a wrong current password: %d", resp.StatusCode)
	}
	if resp, _ := do(t, a, "POST", s.srv.URL+"/account/password", url.Values{"current": {pw}, "password": {"another long password"}}); resp.StatusCode != 200 {
		t.Fatalf("password change: %d", resp.StatusCode)
	}
	eventually(t, "the other session's page refused", func() bool {
		resp, _ := do(t, b, "GET", s.srv.URL+"/api/photos", nil)
		return resp.StatusCode == 401
	})
	eventually(t, "the other session's media refused", func() bool {
		resp, _ := do(t, b, "GET", thumb, nil)
		return resp.StatusCode == 401
	})
	if resp, _ := do(t, a, "GET", thumb, nil); resp.StatusCode != 200 {
		t.Fatalf("the changing session lost its media: %d", resp.StatusCode)
	}
	// Sign out ends this one too, media included.
	if resp, _ := do(t, a, "POST", s.srv.URL+"/logout", url.Values{}); resp.StatusCode != 303 {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := do(t, a, "GET", s.srv.URL+"/", nil); resp.StatusCode != 303 {
		t.Fatalf("page after logout: %d", resp.StatusCode)
	}
}

func TestSignInThrottled(t *testing.T) {
	s := newSite(t, 1, 4, plainName)
	addUser(t, s, "anna")
	c := client(t)
	for i := 0; i < 5; i++ {
		if resp, _ := do(t, c, "POST", s.srv.URL+"/login", url.Values{"username": {"anna"}, "password": {"wrong password"}}); resp.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	resp, body := do(t, c, "POST", s.srv.URL+"/login", url.Values{"username": {"anna"}, "password": {pw}})
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins") {
		t.Fatalf("sixth attempt: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n, _ := s.st.AuditEvents(context.Background(), "signin-failed", "anna"); n != 5 {
		t.Fatalf("%d failure audit rows, want 5", n)
	}
}

// TestSecureCookies: Secure and __Host- only over TLS or from a trusted
// proxy, never for a forged X-Forwarded-Proto.
func TestSecureCookies(t *testing.T) {
	s := newSite(t, 1, 4, plainName)
	addUser(t, s, "anna")
	srv, err := web.New(s.db, s.st, s.store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.SetAccess(web.Access{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	h := srv.Handler()
	login := func(remote string, tlsOn bool, proto string) []*http.Cookie {
		req := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"username": {"anna"}, "password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = remote
		if tlsOn {
			req.TLS = &tls.ConnectionState{}
		}
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 303 {
			t.Fatalf("login from %s: %d", remote, rec.Code)
		}
		return rec.Result().Cookies()
	}
	check := func(what string, cks []*http.Cookie, secure bool) {
		if len(cks) != 2 {
			t.Fatalf("%s: %d cookies", what, len(cks))
		}
		for _, ck := range cks {
			if ck.Secure != secure || strings.HasPrefix(ck.Name, "__Host-") != secure || !ck.HttpOnly || ck.Path != "/" {
				t.Errorf("%s: cookie %+v", what, ck)
			}
		}
	}
	check("TLS", login("192.0.2.1:1000", true, ""), true)
	check("trusted proxy", login("10.1.2.3:1000", false, "https"), true)
	check("forged proto", login("192.0.2.1:1000", false, "https"), false)
	check("plain", login("192.0.2.2:1000", false, ""), false)
}
