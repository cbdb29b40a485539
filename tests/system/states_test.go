package system

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// patch sends a JSON PATCH with c and returns the status and body.
func patch(t *testing.T, c *http.Client, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("PATCH", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPhotoStatesPerPerson: favourites, archive and trash belong to the
// person who set them. Ben archives and trashes photos of a library anna
// shares with him: they leave his default lists, never anna's; he cannot
// change a photo he may not see (404, as for none), nor with a read key
// (403), while a write key works.
func TestPhotoStatesPerPerson(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	libA, _ := makeLibrary(t, 2, 0)
	libS, _ := makeLibrary(t, 3, 2)
	addUser(t, dbURL, "anna", annaPassword, true)
	addUser(t, dbURL, "ben", annaPassword, false)
	s := startServe(t, serveOpts{dbURL: dbURL, library: libA, budget: 6})
	for _, args := range [][]string{{"add", libS, "--owner", "anna"}, {"share", libS, "--with", "ben"}} {
		if out, err := libraryCLI(t, dbURL, args...); err != nil {
			t.Fatalf("library %v: %v %s", args, err, out)
		}
	}
	anna, ben := signedIn(t, s, "anna", annaPassword), signedIn(t, s, "ben", annaPassword)
	var annaIDs, benIDs map[string]string
	waitFor(t, "both libraries indexed", 2*time.Minute, func() bool {
		var err1, err2 error
		annaIDs, err1 = listPhotos(anna, s.base, "/api/photos?limit=50")
		benIDs, err2 = listPhotos(ben, s.base, "/api/photos?limit=50")
		return err1 == nil && err2 == nil && len(annaIDs) == 5 && len(benIDs) == 3
	})
	var shared, private []string
	for id := range annaIDs {
		if _, ok := benIDs[id]; ok {
			shared = append(shared, id)
		} else {
			private = append(private, id)
		}
	}
	if len(shared) != 3 || len(private) != 2 {
		t.Fatalf("shared %v private %v", shared, private)
	}

	if st, body := patch(t, ben, s.base+"/api/photos", `{"ids":["`+shared[0]+`"],"archived":true}`); st != 200 {
		t.Fatalf("ben archives a shared photo: %d %s", st, body)
	}
	if st, body := patch(t, ben, s.base+"/api/photos/"+shared[1], `{"trashed":true}`); st != 200 {
		t.Fatalf("ben trashes a shared photo: %d %s", st, body)
	}
	benNow, err := listPhotos(ben, s.base, "/api/photos?limit=50")
	if err != nil || len(benNow) != 1 {
		t.Fatalf("ben's default list after archiving one and trashing one of three: %v %v", benNow, err)
	}
	if _, ok := benNow[shared[2]]; !ok {
		t.Fatalf("ben's default list %v, want %s", benNow, shared[2])
	}
	annaNow, err := listPhotos(anna, s.base, "/api/photos?limit=50")
	if err != nil || len(annaNow) != 5 {
		t.Fatalf("anna's list after ben's changes: %d photos %v, want all 5: state is per person", len(annaNow), err)
	}
	for q, want := range map[string]string{"is:archived": shared[0], "is:trashed": shared[1]} {
		got, err := listPhotos(ben, s.base, "/api/search?limit=50&q="+q)
		if _, ok := got[want]; err != nil || len(got) != 1 || !ok {
			t.Errorf("ben's %s: %v %v, want %s", q, got, err, want)
		}
		if got, err := listPhotos(anna, s.base, "/api/search?limit=50&q="+q); err != nil || len(got) != 0 {
			t.Errorf("anna's %s: %v %v, want none", q, got, err)
		}
	}
	_, _, page := fetch(t, anna, s.base, "/")
	for _, id := range shared[:2] {
		if !strings.Contains(string(page), "/thumbnail/"+id) {
			t.Errorf("anna's gallery lacks %s, which ben archived or trashed", id)
		}
	}

	// Not his: the same answer as for no photo; nothing changes.
	for _, body := range []string{`{"ids":["` + private[0] + `"],"favorite":true}`, `{"ids":["` + shared[2] + `","` + private[1] + `"],"archived":true}`} {
		if st, b := patch(t, ben, s.base+"/api/photos", body); st != 404 {
			t.Errorf("ben changing anna's private photo: %d %s, want 404", st, b)
		}
	}
	if st, _ := patch(t, ben, s.base+"/api/photos/"+private[0], `{"trashed":true}`); st != 404 {
		t.Errorf("ben trashing anna's private photo: %d, want 404", st)
	}
	if got, _ := listPhotos(ben, s.base, "/api/photos?limit=50"); len(got) != 1 {
		t.Fatalf("a refused request changed ben's list: %v", got)
	}
	if got, _ := listPhotos(anna, s.base, "/api/search?limit=50&q=is:favorite"); len(got) != 0 {
		t.Fatalf("ben's refused request made anna's favourites: %v", got)
	}

	// Keys: read may not change, write may.
	keyOf := func(scope string) *http.Client {
		out, err := shoeboxStdin(t, shoeboxEnv("DATABASE_URL="+dbURL), "", "key", "add", "--user", "ben", "--scope", scope)
		key := regexp.MustCompile(`sbx_[A-Za-z0-9_-]{43}`).FindString(out)
		if err != nil || key == "" {
			t.Fatalf("key add: %v %s", err, out)
		}
		return &http.Client{Timeout: 30 * time.Second, Transport: withKey{key: key, next: http.DefaultTransport}}
	}
	read, write := keyOf("read"), keyOf("write")
	waitFor(t, "keys known", 10*time.Second, func() bool { st, _, _ := fetch(t, read, s.base, "/api/photos"); return st == 200 })
	if st, _ := patch(t, read, s.base+"/api/photos/"+shared[2], `{"favorite":true}`); st != 403 {
		t.Errorf("a read key changing state: %d, want 403", st)
	}
	if st, body := patch(t, write, s.base+"/api/photos/"+shared[2], `{"favorite":true}`); st != 200 || !strings.Contains(body, `"favorite":true`) {
		t.Errorf("a write key favouriting: %d %s", st, body)
	}
	if st, _ := patch(t, write, s.base+"/api/photos/"+private[0], `{"favorite":true}`); st != 404 {
		t.Errorf("ben's write key on anna's private photo: %d, want 404", st)
	}
}
