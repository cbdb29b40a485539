package system

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// shoeboxStdin runs a shoebox command with stdin and returns its output.
func shoeboxStdin(t *testing.T, env []string, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(shoeboxBin, args...)
	cmd.Env, cmd.Dir, cmd.Stdin = env, workDir, strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		cmd.Process.Kill()
		t.Fatalf("shoebox %s did not finish", strings.Join(args, " "))
	}
	return string(out), err
}

// TestAccounts drives accounts through the built binary: serving on a
// non-loopback address is refused without an account; `user add` reads the
// password from stdin; once an account exists nothing is served without
// signing in; a signed-in browser's thumbnails keep answering 200 with
// PostgreSQL stopped (zero SQL behind media) while pages answer 503.
func TestAccounts(t *testing.T) {
	cluster, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 4, 0)
	env := shoeboxEnv("DATABASE_URL=" + dbURL)

	exposed := startProc(t, "exposed serve", env, shoeboxBin, "serve", "--library", lib,
		"--data", t.TempDir(), "--addr", "0.0.0.0:0", "--rescan", "0")
	if err := exposed.wait(t, 90*time.Second); err == nil {
		t.Fatal("serve on 0.0.0.0 without an account started")
	}
	if msg := exposed.stderr.String(); !strings.Contains(msg, "shoebox user add NAME --admin --password-stdin") {
		t.Fatalf("refusal does not say how to create an account: %s", msg)
	}

	if out, err := shoeboxStdin(t, env, "short\n", "user", "add", "anna", "--admin", "--password-stdin"); err == nil || !strings.Contains(out, "at least 10") {
		t.Fatalf("short password: %v %s", err, out)
	}
	if out, err := shoeboxStdin(t, env, "", "user", "add", "Anna", "--password-stdin"); err == nil || !strings.Contains(out, "account name") {
		t.Fatalf("upper-case name: %v %s", err, out)
	}
	if out, err := shoeboxStdin(t, env, "a long enough password\n", "user", "add", "anna", "--admin", "--password-stdin"); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	if out, err := shoeboxStdin(t, env, "", "user", "list"); err != nil || !strings.Contains(out, "anna") || !strings.Contains(out, "admin") {
		t.Fatalf("user list: %v %s", err, out)
	}

	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 8})
	if st, _, _, _ := s.get("/api/stats"); st != 401 {
		t.Fatalf("/api/stats without signing in: %d", st)
	}
	if st, h, _, _ := s.get("/"); st != 303 || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("/ without signing in: %d %s", st, h.Get("Location"))
	}
	jar, _ := cookiejar.New(nil)
	s.client.Jar = jar
	resp, err := s.client.PostForm(s.base+"/login", url.Values{"username": {"anna"}, "password": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	s.waitIndexed(t, 2*time.Minute)
	id := s.photos(t).Photos[0].ID
	h, b := s.mustGet(t, "/thumbnail/"+id+"?v=1", 200)
	if !isWebP(b) || !strings.HasPrefix(h.Get("Cache-Control"), "private") {
		t.Fatalf("thumbnail signed in: %q, webp %v", h.Get("Cache-Control"), isWebP(b))
	}

	// A second process on the same database honours a session of the
	// first, and refuses it (pages and media) soon after it signs out.
	other := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 4})
	cookies := signInCookies(t, s)
	getWith := func(base, path string) int {
		req, _ := http.NewRequest("GET", base+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := other.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Its data folder is its own and the database already holds the
	// photos, so it has no thumbnail files: a grant it accepts answers 404,
	// one it refuses 401.
	if st := getWith(other.base, "/thumbnail/"+id+"?v=1"); st != 404 {
		t.Fatalf("second process, media grant of the first: %d, want 404 (accepted, no file here)", st)
	}
	if st := getWith(other.base, "/api/stats"); st != 200 {
		t.Fatalf("second process, a session of the first: %d", st)
	}
	req, _ := http.NewRequest("POST", s.base+"/logout", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err = other.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	start := time.Now()
	waitFor(t, "the second process to refuse the signed-out session's media", 10*time.Second, func() bool {
		return getWith(other.base, "/thumbnail/"+id+"?v=1") == 401
	})
	t.Logf("media of a signed-out session refused by a second process after %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the second process to refuse the signed-out session's pages", 10*time.Second, func() bool {
		return getWith(other.base, "/api/stats") == 401
	})
	other.stop(10 * time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/thumbnail/" + id + "?v=1", "/preview/" + id + "?v=1", "/original/" + id} {
		if _, b := s.mustGet(t, p, 200); len(b) == 0 {
			t.Fatalf("%s: empty with the database stopped", p)
		}
	}
	if st, _, _, _ := s.get("/"); st != 503 {
		t.Fatalf("page with the database stopped: %d, want 503", st)
	}
}

// signInCookies signs in anew on s (its own client, no jar) and returns
// the cookies it set.
func signInCookies(t *testing.T, s *server) []*http.Cookie {
	t.Helper()
	c := newClient(30 * time.Second)
	resp, err := c.PostForm(s.base+"/login", url.Values{"username": {"anna"}, "password": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 2 {
		t.Fatalf("sign-in: %d, %d cookies", resp.StatusCode, len(resp.Cookies()))
	}
	return resp.Cookies()
}

// waitFor polls cond until it holds, failing after timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
