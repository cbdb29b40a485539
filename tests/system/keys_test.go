package system

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// withKey sends "Authorization: Bearer key" on every request of a client.
type withKey struct {
	key  string
	next http.RoundTripper
}

func (k withKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+k.key)
	return k.next.RoundTrip(r)
}

// TestAPIKeysCLI drives API keys through the built binary: `key add`
// prints a key once, two serving processes on one database accept it on
// the API and on media (no cookie), `key list` never shows it, and after
// `key revoke` both refuse it within about a second (their auth polls).
func TestAPIKeysCLI(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 3, 0)
	env := shoeboxEnv("DATABASE_URL=" + dbURL)
	if out, err := shoeboxStdin(t, env, "a long enough password\n", "user", "add", "anna", "--admin", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	if out, err := shoeboxStdin(t, env, "", "key", "add", "--user", "anna", "--scope", "admin"); err == nil || !strings.Contains(out, "read, write or metrics") {
		t.Fatalf("key add --scope admin: %v %s", err, out)
	}
	if out, err := shoeboxStdin(t, env, "", "key", "add", "--user", "nobody", "--scope", "read"); err == nil || !strings.Contains(out, "nobody") {
		t.Fatalf("key add for an unknown account: %v %s", err, out)
	}
	out, err := shoeboxStdin(t, env, "", "key", "add", "--user", "anna", "--scope", "read")
	key := regexp.MustCompile(`sbx_[A-Za-z0-9_-]{43}`).FindString(out)
	m := regexp.MustCompile(`key (\d+) \(read\) of anna`).FindStringSubmatch(out)
	if err != nil || key == "" || m == nil {
		t.Fatalf("key add: %v %s", err, out)
	}
	if out, err := shoeboxStdin(t, env, "", "key", "list", "--user", "anna"); err != nil || !strings.Contains(out, m[1]) || !strings.Contains(out, "read") || strings.Contains(out, "sbx_") {
		t.Fatalf("key list: %v %s", err, out)
	}

	a := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 8})
	if st, _, _, _ := a.get("/api/stats"); st != 401 {
		t.Fatalf("/api/stats without a key: %d", st)
	}
	a.client.Transport = withKey{key, a.client.Transport}
	a.waitIndexed(t, 2*time.Minute) // before b starts: the thumbnails are a's
	b := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 4})
	b.client.Transport = withKey{key, b.client.Transport}
	id := a.photos(t).Photos[0].ID
	h, body := a.mustGet(t, "/thumbnail/"+id, 200)
	if !isWebP(body) || h.Get("Set-Cookie") != "" {
		t.Fatalf("thumbnail with a key: webp %v, Set-Cookie %q", isWebP(body), h.Get("Set-Cookie"))
	}
	if h, _ := b.mustGet(t, "/api/photos", 200); h.Get("Set-Cookie") != "" {
		t.Fatalf("/api/photos with a key set a cookie: %q", h.Get("Set-Cookie"))
	}
	// A page ignores the key: as without a session.
	b.mustGet(t, "/", 303)

	if out, err := shoeboxStdin(t, env, "", "key", "revoke", m[1]); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("key revoke: %v %s", err, out)
	}
	// Refused by both within about a second; the deadline leaves room
	// for a loaded machine, the figure is printed.
	start := time.Now()
	for _, s := range []*server{a, b} {
		for {
			st, _, _, err := s.get("/api/photos")
			if err == nil && st == 401 {
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("revoked key still accepted after 10 s: %d %v", st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	a.mustGet(t, "/thumbnail/"+id, 401)
	t.Logf("revoked key refused by both processes after %v", time.Since(start).Round(time.Millisecond))
	if out, err := shoeboxStdin(t, env, "", "key", "revoke", m[1]); err == nil || !strings.Contains(out, "no key") {
		t.Fatalf("second revoke: %v %s", err, out)
	}
}
