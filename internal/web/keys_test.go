package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"shoebox/internal/auth"
	"shoebox/internal/web"
)

var newKeyRE = regexp.MustCompile(`<code id="new-key">(sbx_[A-Za-z0-9_-]{43})</code>`)

// makeKey creates a key of c's account on the keys page and returns it.
func makeKey(t *testing.T, base string, c *http.Client, scope string) string {
	t.Helper()
	resp, page := do(t, c, "POST", base+"/account/keys", url.Values{"scope": {scope}})
	m := newKeyRE.FindStringSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("create a %s key: %d\n%s", scope, resp.StatusCode, page)
	}
	if _, again := do(t, c, "GET", base+"/account/keys", nil); strings.Contains(again, m[1]) {
		t.Fatal("the keys page shows a key after its creation")
	}
	return m[1]
}

// bearer makes one request with key (no cookie jar: a script).
func bearer(t *testing.T, h http.Handler, method, path, key, remote string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if remote != "" {
		req.RemoteAddr = remote
	}
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAPIKeys(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	ctx := context.Background()
	// A server of its own, to read every line it logs.
	var logs bytes.Buffer
	srv, err := web.New(s.db, s.st, s.store, nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := srv.Handler()
	hs := httptest.NewServer(h)
	defer hs.Close()
	base := hs.URL
	if resp, _ := do(t, client(t), "POST", base+"/setup", url.Values{"username": {"anna"}, "password": {pw}}); resp.StatusCode != 303 {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	hash, _ := auth.HashPassword(pw)
	bobID, err := s.st.AddUser(ctx, "bob", hash, false)
	if err != nil {
		t.Fatal(err)
	}
	// A metrics key of a member (made behind the rules' back) gets no
	// more than the member: no metrics.
	bobMetrics, bobMetricsHash := auth.NewAPIKey()
	if _, err := s.st.AddAPIKey(ctx, bobID, bobMetricsHash, "metrics"); err != nil {
		t.Fatal(err)
	}
	anna := client(t)
	if resp, _ := do(t, anna, "POST", base+"/login", url.Values{"username": {"anna"}, "password": {pw}}); resp.StatusCode != 303 {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	bob := client(t)
	if resp, _ := do(t, bob, "POST", base+"/login", url.Values{"username": {"bob"}, "password": {pw}}); resp.StatusCode != 303 {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	read, write, metrics := makeKey(t, base, anna, "read"), makeKey(t, base, anna, "write"), makeKey(t, base, anna, "metrics")
	bobRead := makeKey(t, base, bob, "read")
	if resp, _ := do(t, bob, "POST", base+"/account/keys", url.Values{"scope": {"metrics"}}); resp.StatusCode != 403 {
		t.Fatalf("a member's metrics key: %d", resp.StatusCode)
	}
	if resp, _ := do(t, anna, "POST", base+"/account/keys", url.Values{"scope": {"admin"}}); resp.StatusCode != 400 {
		t.Fatalf("a key of scope admin: %d", resp.StatusCode)
	}
	thumb := "/thumbnail/" + s.ids[0]
	// The poll has not necessarily run yet: wait for the key table.
	eventually(t, "the new keys known", func() bool { return bearer(t, h, "GET", "/api/photos", bobRead, "").Code == 200 })

	for _, tc := range []struct {
		method, path, key, remote string
		want                      int
	}{
		{"GET", "/api/photos", read, "", 200},
		{"GET", "/api/photos/" + s.ids[0], write, "", 200},
		{"GET", thumb, read, "", 200},
		{"HEAD", "/preview/" + s.ids[0], read, "", 404}, // no preview file: the key got through
		{"POST", "/api/photos", read, "", 403},          // a state change needs a write key
		{"DELETE", "/api/photos/" + s.ids[0], read, "", 403},
		{"POST", "/api/photos", write, "", 405}, // past the guard: no such route
		{"GET", "/api/photos", metrics, "", 403},
		{"GET", thumb, metrics, "", 403},
		{"GET", "/metrics", metrics, "192.0.2.7:5000", 200}, // from another machine, with a metrics key
		{"GET", "/metrics", read, "", 403},                  // from this machine too: a key is the key's scope
		{"GET", "/metrics", write, "192.0.2.7:5000", 403},
		{"GET", "/metrics", bobMetrics, "", 403},
		{"GET", "/api/photos", "sbx_" + strings.Repeat("A", 43), "", 401},
		{"GET", thumb, "not-a-key", "", 401},
		{"GET", "/api/audit", read, "", 200},    // anna is an admin
		{"GET", "/api/audit", bobRead, "", 403}, // bob's key is no more than bob
		{"GET", "/", read, "", 303},             // pages ignore keys: as without a session
		{"GET", "/account/keys", read, "", 303},
		{"POST", "/account/keys", write, "", 303}, // a key cannot make keys
	} {
		rec := bearer(t, h, tc.method, tc.path, tc.key, tc.remote)
		if rec.Code != tc.want {
			t.Errorf("%s %s with a key (%s): %d, want %d: %s", tc.method, tc.path, tc.remote, rec.Code, tc.want, rec.Body)
		}
		if sc := rec.Header().Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("%s %s with a key: Set-Cookie %q", tc.method, tc.path, sc)
		}
	}
	if n, _ := s.st.APIKeys(ctx, 0); len(n) != 5 {
		t.Fatalf("%d keys, want the 4 made on the page and bob's metrics key", len(n))
	}
	// The key list never shows a key, anywhere.
	if _, page := do(t, anna, "GET", base+"/account/keys", nil); strings.Count(page, "/revoke\"") != 3 || strings.Contains(page, "sbx_") {
		t.Fatalf("keys page:\n%s", page)
	}

	// Media with a key run no SQL: they work with every connection held.
	var held []*pgxpool.Conn
	for i := 0; i < 4; i++ {
		conn, err := s.db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	for i := 0; i < 20; i++ {
		if rec := bearer(t, h, "GET", thumb, read, ""); rec.Code != 200 {
			t.Fatalf("thumbnail with a key and the pool exhausted: %d", rec.Code)
		}
	}
	for _, conn := range held {
		conn.Release()
	}

	// Revoked on the page: refused, media included, within the poll.
	keys, _ := s.st.APIKeys(ctx, 0)
	for keys[0].UserName != "anna" || keys[0].Scope != "read" {
		keys = keys[1:] // anna's read key: the first she made
	}
	if resp, _ := do(t, bob, "POST", fmt.Sprintf("%s/account/keys/%d/revoke", base, keys[0].ID), url.Values{}); resp.StatusCode != 404 {
		t.Fatalf("bob revokes anna's key: %d", resp.StatusCode)
	}
	if resp, _ := do(t, anna, "POST", fmt.Sprintf("%s/account/keys/%d/revoke", base, keys[0].ID), url.Values{}); resp.StatusCode != 303 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	eventually(t, "the revoked key refused", func() bool {
		return bearer(t, h, "GET", thumb, read, "").Code == 401 && bearer(t, h, "GET", "/api/photos", read, "").Code == 401
	})
	if rec := bearer(t, h, "GET", thumb, write, ""); rec.Code != 200 {
		t.Fatalf("another key after a revocation: %d", rec.Code)
	}
	// A removed account's keys stop working.
	if err := s.st.RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the key of a removed account refused", func() bool { return bearer(t, h, "GET", "/api/photos", bobRead, "").Code == 401 })

	// Hashed at rest; never in the audit log nor the logs.
	rows, err := s.db.Pool.Query(ctx, `SELECT key_hash FROM api_keys`)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for rows.Next() {
		var h []byte
		rows.Scan(&h)
		stored[string(h)] = true
	}
	rows.Close()
	for _, k := range []string{write, metrics} {
		sum := sha256.Sum256([]byte(k))
		if len(stored) != 2 || !stored[string(sum[:])] || stored[k] {
			t.Fatalf("api_keys holds %d hashes, not the SHA-256 of each live key", len(stored))
		}
	}
	var leaks int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE detail LIKE '%sbx_%' OR username LIKE '%sbx_%'`).Scan(&leaks); err != nil || leaks != 0 {
		t.Fatalf("%d audit rows hold a key (%v)", leaks, err)
	}
	if n, _ := s.st.AuditEvents(ctx, "key-add", "anna"); n != 3 {
		t.Fatalf("%d key-add audit rows of anna, want 3", n)
	}
	if n, _ := s.st.AuditEvents(ctx, "key-revoke", "anna"); n != 1 {
		t.Fatalf("%d key-revoke audit rows, want 1", n)
	}
	if strings.Contains(logs.String(), "sbx_") {
		t.Fatalf("a key in the logs:\n%s", logs.String())
	}
}

func TestAuditPage(t *testing.T) {
	s := newSite(t, 1, 4, plainName)
	addUser(t, s, "anna")
	ctx := context.Background()
	addMember(t, s, "bob")
	for i := 0; i < 150; i++ {
		if err := s.st.Audit(ctx, "test-event", "carl", "192.0.2.1", fmt.Sprint("row ", i)); err != nil {
			t.Fatal(err)
		}
	}
	if resp, _ := do(t, signIn(t, s, "bob"), "GET", s.srv.URL+"/admin/audit", nil); resp.StatusCode != 403 {
		t.Fatalf("a member's audit page: %d", resp.StatusCode)
	}
	if resp, _ := do(t, client(t), "GET", s.srv.URL+"/admin/audit", nil); resp.StatusCode != 303 {
		t.Fatalf("audit page without a session: %d", resp.StatusCode)
	}
	anna := signIn(t, s, "anna")
	resp, page := do(t, anna, "GET", s.srv.URL+"/admin/audit", nil)
	if resp.StatusCode != 200 || strings.Count(page, "<tr>") != 101 || !strings.Contains(page, "signin") || !strings.Contains(page, "row 149") {
		t.Fatalf("audit page: %d, %d rows\n%s", resp.StatusCode, strings.Count(page, "<tr>"), page)
	}
	m := regexp.MustCompile(`href="(/admin/audit\?before=\d+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no link to older events")
	}
	resp, older := do(t, anna, "GET", s.srv.URL+m[1], nil)
	if resp.StatusCode != 200 || !strings.Contains(older, "row 0<") || strings.Contains(older, "row 149<") || strings.Contains(older, "before=") {
		t.Fatalf("older events: %d\n%s", resp.StatusCode, older)
	}
	if resp, _ := do(t, anna, "GET", s.srv.URL+"/admin/audit?before=x", nil); resp.StatusCode != 400 {
		t.Fatalf("before=x: %d", resp.StatusCode)
	}
}
