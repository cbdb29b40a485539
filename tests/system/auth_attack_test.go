package system

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	annaPassword = "a long enough password"
	benPassword  = "another long password"
)

// addUser creates an account through the CLI, as an administrator would.
func addUser(t *testing.T, dbURL, name, password string, admin bool) {
	t.Helper()
	args := []string{"user", "add", name, "--password-stdin"}
	if admin {
		args = append(args, "--admin")
	}
	if out, err := shoeboxStdin(t, shoeboxEnv("DATABASE_URL="+dbURL), password+"\n", args...); err != nil {
		t.Fatalf("user add %s: %v %s", name, err, out)
	}
}

// fromAddr is a client whose connections leave from the loopback address
// ip (Linux routes all of 127.0.0.0/8 to lo), so the server sees another
// client address; it keeps cookies.
func fromAddr(t *testing.T, ip string) *http.Client {
	t.Helper()
	c := newClient(30 * time.Second)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	c.Transport.(*http.Transport).DialContext = d.DialContext
	c.Jar, _ = cookiejar.New(nil)
	return c
}

// postLogin posts the sign-in form with c and returns the answer (body read).
func postLogin(t *testing.T, c *http.Client, base, name, password string, header http.Header) (*http.Response, string) {
	t.Helper()
	return post(t, c, base+"/login", url.Values{"username": {name}, "password": {password}}, header)
}

// post sends a form with extra headers and reads the whole answer.
func post(t *testing.T, c *http.Client, u string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// status GETs u with c and returns the status code.
func status(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// signedIn signs name in with a new client (from 127.0.0.1) and returns it.
func signedIn(t *testing.T, s *server, name, password string) *http.Client {
	t.Helper()
	c := fromAddr(t, "127.0.0.1")
	if resp, body := postLogin(t, c, s.base, name, password, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in of %s: %d %s", name, resp.StatusCode, tail(body, 300))
	}
	return c
}

// TestAuthThrottle: five wrong passwords for one account block the sixth
// attempt, even with the right password (429, Retry-After, a clear
// message), from any client address (per account); the address that
// failed five times is blocked for every account (per address), while
// another account from another address still signs in.
func TestAuthThrottle(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 2, 0)
	addUser(t, dbURL, "anna", annaPassword, true)
	addUser(t, dbURL, "ben", benPassword, false)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 4})

	attacker := fromAddr(t, "127.0.0.1")
	for i := 1; i <= 5; i++ {
		resp, body := postLogin(t, attacker, s.base, "anna", "wrong password "+strconv.Itoa(i), nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password") {
			t.Fatalf("wrong password %d: %d, want 401 with a message: %s", i, resp.StatusCode, tail(body, 300))
		}
		if len(resp.Cookies()) != 0 {
			t.Fatalf("wrong password %d set cookies: %v", i, resp.Cookies())
		}
	}
	blocked := func(c *http.Client, name, password, what string) {
		t.Helper()
		resp, body := postLogin(t, c, s.base, name, password, nil)
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s: %d, want 429: %s", what, resp.StatusCode, tail(body, 300))
		}
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || ra <= 0 || ra > 15*60 {
			t.Fatalf("%s: Retry-After %q, want 1..900 seconds", what, resp.Header.Get("Retry-After"))
		}
		if !strings.Contains(body, "Too many failed sign-ins") {
			t.Fatalf("%s: no clear message: %s", what, tail(body, 300))
		}
		if len(resp.Cookies()) != 0 {
			t.Fatalf("%s set cookies: %v", what, resp.Cookies())
		}
	}
	blocked(attacker, "anna", annaPassword, "6th attempt, right password, same address")
	// Per account: another client address gets no further with anna.
	other := fromAddr(t, "127.0.0.2")
	blocked(other, "anna", annaPassword, "anna's right password from another address")
	// Per address: the address that failed five times is blocked for ben too.
	blocked(attacker, "ben", benPassword, "ben's right password from the failing address")
	// The check is not blind: ben from another address signs in and sees the API.
	if resp, body := postLogin(t, other, s.base, "ben", benPassword, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ben from another address: %d: %s", resp.StatusCode, tail(body, 300))
	}
	if st := status(t, other, s.base+"/api/stats"); st != 200 {
		t.Fatalf("ben signed in, /api/stats: %d", st)
	}
	// The blocked account still has no session anywhere.
	if st := status(t, attacker, s.base+"/api/stats"); st != 401 {
		t.Fatalf("attacker's client after being throttled, /api/stats: %d, want 401", st)
	}
}

// TestAuthCrossSite: a state-changing POST sent by another site
// (Sec-Fetch-Site: cross-site, or a foreign Origin) is refused with 403
// and changes nothing: the session stays valid, the password stays, no
// sign-in happens. The same requests sent by the site itself work, so
// the check is not blind.
func TestAuthCrossSite(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 2, 0)
	addUser(t, dbURL, "anna", annaPassword, true)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 4})
	c := signedIn(t, s, "anna", annaPassword)

	hostile := []struct {
		name string
		h    http.Header
	}{
		{"Sec-Fetch-Site: cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"Origin of another site", http.Header{"Origin": {"http://evil.example"}}},
		{"both", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
	}
	const newPassword = "a brand new password"
	for _, h := range hostile {
		if resp, body := post(t, c, s.base+"/logout", nil, h.h); resp.StatusCode != http.StatusForbidden {
			t.Errorf("logout, %s: %d, want 403: %s", h.name, resp.StatusCode, tail(body, 200))
		}
		if st := status(t, c, s.base+"/api/stats"); st != 200 {
			t.Fatalf("after a refused cross-site logout (%s), /api/stats: %d: the session ended", h.name, st)
		}
		form := url.Values{"current": {annaPassword}, "password": {newPassword}}
		if resp, body := post(t, c, s.base+"/account/password", form, h.h); resp.StatusCode != http.StatusForbidden {
			t.Errorf("password change, %s: %d, want 403: %s", h.name, resp.StatusCode, tail(body, 200))
		}
		fresh := fromAddr(t, "127.0.0.1")
		resp, body := postLogin(t, fresh, s.base, "anna", annaPassword, h.h)
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
			t.Errorf("login, %s: %d with %d cookies, want 403 and none: %s", h.name, resp.StatusCode, len(resp.Cookies()), tail(body, 200))
		}
		if st := status(t, fresh, s.base+"/api/stats"); st != 401 {
			t.Errorf("after a refused cross-site login (%s), /api/stats: %d, want 401", h.name, st)
		}
	}
	// The password is unchanged: the old one signs in, the new one does not.
	signedIn(t, s, "anna", annaPassword)
	if resp, _ := postLogin(t, fromAddr(t, "127.0.0.3"), s.base, "anna", newPassword, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the password a cross-site request tried to set signs in: %d", resp.StatusCode)
	}

	// The same requests from the site itself go through.
	same := http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {s.base}}
	if resp, body := post(t, c, s.base+"/account/password", url.Values{"current": {annaPassword}, "password": {newPassword}}, same); resp.StatusCode != http.StatusOK {
		t.Fatalf("same-origin password change: %d: %s", resp.StatusCode, tail(body, 300))
	}
	signedIn(t, s, "anna", newPassword)
	if resp, _ := post(t, c, s.base+"/logout", nil, same); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin logout: %d", resp.StatusCode)
	}
	if st := status(t, c, s.base+"/api/stats"); st != 401 {
		t.Fatalf("after a same-origin logout, /api/stats: %d, want 401", st)
	}
}

// TestAuthForgedIDs: a signed-in user asking for ids that name no photo
// gets 404, a malformed id 400 or 404, never a 500; without signing in,
// a real photo's media and API answer 401 (pages redirect to /login)
// even to someone who knows its id, and so do a made-up API key, a forged
// session cookie and a tampered media grant.
func TestAuthForgedIDs(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 3, 0)
	addUser(t, dbURL, "anna", annaPassword, true)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 4})
	c := signedIn(t, s, "anna", annaPassword)
	s.client = c
	s.waitIndexed(t, 2*time.Minute)
	real := s.photos(t).Photos[0].ID
	for _, p := range []string{"/thumbnail/" + real + "?v=1", "/preview/" + real + "?v=1", "/original/" + real, "/photo/" + real, "/api/photos/" + real} {
		s.mustGet(t, p, 200) // the routes work for a real id: the checks below are not blind
	}

	routes := []string{"/thumbnail/%s?v=1", "/preview/%s?v=1", "/original/%s", "/photo/%s", "/api/photos/%s", "/api/photos/%s/similar"}
	absent := []string{"AAAAAAAAAAAAAAAAAAAA", "zzzzzzzzzzzzzzzzzzzz", strings.Repeat("_", 20), real[:19] + flip(real[19])}
	malformed := []string{"x", real + "0", real[:19], "..%2F..%2Fetc%2Fpasswd", "%00" + real[1:], url.PathEscape(real[:10] + "/" + real[11:]),
		strings.Repeat("a", 5000), "%27%20OR%201%3D1--", "%E2%80%AE" + real[3:]}
	for _, r := range routes {
		for _, id := range absent {
			p := strings.Replace(r, "%s", id, 1)
			if st, _, b, err := s.get(p); err != nil || st != 404 {
				t.Errorf("GET %s (no such photo): %d %v, want 404: %s", p, st, err, tail(string(b), 200))
			}
		}
		for _, id := range malformed {
			p := strings.Replace(r, "%s", id, 1)
			if st, _, b, err := s.get(p); err != nil || (st != 400 && st != 404) {
				t.Errorf("GET %s (malformed id): %d %v, want 400 or 404: %s", tail(p, 120), st, err, tail(string(b), 200))
			}
		}
	}

	// Without signing in, knowing the id is not enough.
	anon := newClient(30 * time.Second)
	for _, p := range []string{"/thumbnail/" + real + "?v=1", "/preview/" + real + "?v=1", "/original/" + real,
		"/api/photos/" + real, "/api/photos/" + real + "/similar"} {
		if st := status(t, anon, s.base+p); st != 401 {
			t.Errorf("GET %s without signing in: %d, want 401", p, st)
		}
	}
	// Nor is a made-up API key, or a session cookie of the right shape.
	for _, p := range []string{"/thumbnail/" + real + "?v=1", "/original/" + real, "/api/photos/" + real} {
		for _, auth := range []string{"Bearer " + strings.Repeat("A", 43), "Bearer ", "Basic YW5uYTphIGxvbmcgZW5vdWdoIHBhc3N3b3Jk"} {
			req, _ := http.NewRequest("GET", s.base+p, nil)
			req.Header.Set("Authorization", auth)
			req.AddCookie(&http.Cookie{Name: "shoebox_session", Value: strings.Repeat("B", 43)})
			resp, err := anon.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("GET %s with Authorization %.12q… and a forged session: %d, want 401", p, auth, resp.StatusCode)
			}
		}
	}
	resp, err := anon.Get(s.base + "/photo/" + real)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("GET /photo/%s without signing in: %d → %q, want 303 to /login", real, resp.StatusCode, resp.Header.Get("Location"))
	}

	// A media grant altered by hand (its user, expiry or signature) is refused.
	u, _ := url.Parse(s.base)
	var grant *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "shoebox_media" {
			grant = ck
		}
	}
	if grant == nil {
		t.Fatalf("no media grant among the signed-in cookies: %v", c.Jar.Cookies(u))
	}
	for i := range []int{0, 1, 2} {
		v := []byte(grant.Value)
		k := []int{0, len(v) / 2, len(v) - 1}[i]
		v[k] = flip(v[k])[0]
		req, _ := http.NewRequest("GET", s.base+"/thumbnail/"+real+"?v=1", nil)
		req.AddCookie(&http.Cookie{Name: "shoebox_media", Value: string(v)})
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("a media grant with byte %d changed: %d, want 401", k, resp.StatusCode)
		}
	}
}

// flip returns another character of the id alphabet than b.
func flip(b byte) string {
	if b == 'A' {
		return "B"
	}
	return "A"
}
