package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func send(t *testing.T, method, u, ctype, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func listed(t *testing.T, s *site, path string) map[string]map[string]any {
	t.Helper()
	_, body := get(t, s.srv.URL+path)
	out := map[string]map[string]any{}
	for _, p := range photoPage(t, body).Photos {
		out[p["id"].(string)] = p
	}
	return out
}

// PATCH changes the local user's state (no accounts here); default lists
// leave out archived and trashed photos at once (the page cache is keyed
// by the user's changes), the is: searches and pages list them, and bad
// bodies or ids change nothing.
func TestPhotoStateAPI(t *testing.T) {
	s := newSite(t, 4, 4, plainName)
	a, b, c, d := s.ids[0], s.ids[1], s.ids[2], s.ids[3]
	api := s.srv.URL + "/api/photos"
	if all := listed(t, s, "/api/photos"); len(all) != 4 || all[a]["favorite"] != false || all[a]["archived"] != false || all[a]["trashed"] != false {
		t.Fatalf("before: %v", all[a])
	}

	resp, body := send(t, "PATCH", api+"/"+a, "application/json", `{"favorite":true}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"favorite":true`) {
		t.Fatalf("PATCH favourite: %d %s", resp.StatusCode, body)
	}
	resp, body = send(t, "PATCH", api, "application/json", `{"ids":["`+b+`","`+c+`"],"archived":true}`)
	if resp.StatusCode != 200 || !strings.Contains(body, `"updated":2`) {
		t.Fatalf("PATCH archived: %d %s", resp.StatusCode, body)
	}
	if resp, body = send(t, "PATCH", api, "application/json", `{"ids":["`+c+`"],"trashed":true}`); resp.StatusCode != 200 {
		t.Fatalf("PATCH trashed: %d %s", resp.StatusCode, body)
	}
	def := listed(t, s, "/api/photos")
	if len(def) != 2 || def[a] == nil || def[d] == nil || def[a]["favorite"] != true {
		t.Fatalf("default list after archiving b, c and trashing c: %v", def)
	}
	if arch := listed(t, s, "/api/search?q=is:archived"); len(arch) != 1 || arch[b] == nil {
		t.Fatalf("is:archived: %v, want b (c is in the trash)", arch)
	}
	if tr := listed(t, s, "/api/search?q=is:trashed"); len(tr) != 1 || tr[c] == nil || tr[c]["trashed"] != true || tr[c]["archived"] != true {
		t.Fatalf("is:trashed: %v", tr)
	}
	if fav := listed(t, s, "/api/search?q=is:favorite"); len(fav) != 1 || fav[a] == nil {
		t.Fatalf("is:favorite: %v", fav)
	}
	for path, want := range map[string]string{"/favorites": a, "/archive": b, "/trash": c} {
		resp, page := get(t, s.srv.URL+path)
		if resp.StatusCode != 200 || !strings.Contains(page, "/thumbnail/"+want) || strings.Contains(page, "/thumbnail/"+d) {
			t.Errorf("%s: %d, want %s's tile and not d's", path, resp.StatusCode, want)
		}
	}

	// Refused, and nothing changes: bad JSON, unknown fields, no field, a
	// forged or malformed id, too many ids, not JSON.
	for _, bad := range []struct{ method, path, ctype, body string }{
		{"PATCH", "/api/photos", "application/json", `{"ids":["` + d + `"],"archived":"yes"}`},
		{"PATCH", "/api/photos", "application/json", `{"ids":["` + d + `"],"archived":true,"owner":1}`},
		{"PATCH", "/api/photos", "application/json", `{"ids":["` + d + `"]}`},
		{"PATCH", "/api/photos", "application/json", `{"ids":[],"archived":true}`},
		{"PATCH", "/api/photos", "application/json", `{"ids":["` + d + `","../../etc"],"archived":true}`},
		{"PATCH", "/api/photos", "application/json", `{"ids":["` + d + `"],"archived":true} {"x":1}`},
		{"PATCH", "/api/photos", "text/plain", `{"ids":["` + d + `"],"archived":true}`},
		{"PATCH", "/api/photos", "application/json", `{"ids":["` + strings.Repeat(d+`","`, 5001) + d + `"],"archived":true}`},
		{"PATCH", "/api/photos/" + d, "application/json", `{"archived":null}`},
	} {
		if resp, body := send(t, bad.method, s.srv.URL+bad.path, bad.ctype, bad.body); resp.StatusCode != 400 {
			t.Errorf("%s %s %.60s: %d %s, want 400", bad.method, bad.path, bad.body, resp.StatusCode, body)
		}
	}
	for _, body := range []string{`{"ids":["` + d + `","AAAAAAAAAAAAAAAAAAAA"],"archived":true}`} {
		if resp, b := send(t, "PATCH", api, "application/json", body); resp.StatusCode != 404 {
			t.Errorf("PATCH with an id of no photo: %d %s, want 404", resp.StatusCode, b)
		}
	}
	if resp, _ := send(t, "PATCH", api+"/AAAAAAAAAAAAAAAAAAAA", "application/json", `{"archived":true}`); resp.StatusCode != 404 {
		t.Errorf("PATCH of no photo: %d, want 404", resp.StatusCode)
	}
	if def := listed(t, s, "/api/photos"); def[d] == nil {
		t.Fatal("a refused request changed d")
	}

	// A cross-site request changes nothing (CrossOriginProtection).
	req, _ := http.NewRequest("PATCH", api+"/"+d, strings.NewReader(`{"archived":true}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site PATCH: %v %v, want 403", resp, err)
	}
	req, _ = http.NewRequest("POST", s.srv.URL+"/photo/"+d+"/state", strings.NewReader("archived=true"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Fatalf("cross-site form POST: %v %v, want 403", resp, err)
	}
	if def := listed(t, s, "/api/photos"); def[d] == nil {
		t.Fatal("a cross-site request archived d")
	}

	// Forms: the photo page's buttons and the Trash page's restore.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(s.srv.URL+"/photo/"+d+"/state", url.Values{"trashed": {"true"}})
	if err != nil || resp.StatusCode != 303 || resp.Header.Get("Location") != "/photo/"+d {
		t.Fatalf("trash form: %v %v", resp, err)
	}
	if _, page := get(t, s.srv.URL+"/photo/"+d); !strings.Contains(page, `name="trashed" value="false"`) {
		t.Fatal("a trashed photo's page offers no Restore")
	}
	resp, err = noRedirect.PostForm(s.srv.URL+"/trash", url.Values{"id": {c, d}})
	if err != nil || resp.StatusCode != 303 {
		t.Fatalf("restore form: %v %v", resp, err)
	}
	if def := listed(t, s, "/api/photos"); def[d] == nil || def[c] != nil {
		t.Fatalf("after restoring c and d: %v, want d back and c still archived", def)
	}
	if resp, _ := noRedirect.PostForm(s.srv.URL+"/photo/"+d+"/state", url.Values{"trashed": {"maybe"}}); resp.StatusCode != 400 {
		t.Fatalf("form with a bad value: %d", resp.StatusCode)
	}
	// Emptying the trash hides for good.
	send(t, "PATCH", api+"/"+d, "application/json", `{"trashed":true}`)
	if resp, _ := noRedirect.PostForm(s.srv.URL+"/trash", url.Values{"empty": {"true"}}); resp.StatusCode != 303 {
		t.Fatalf("empty trash: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s.srv.URL+"/api/photos/"+d); resp.StatusCode != 404 {
		t.Fatalf("an emptied photo: %d, want 404", resp.StatusCode)
	}
}
