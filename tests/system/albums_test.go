package system

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// albumReq sends a JSON body (none when "") with c and returns the status
// and the body.
func albumReq(t *testing.T, c *http.Client, method, u, body string, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// idsJSON is {"ids":[…]} of ids.
func idsJSON(ids ...string) string {
	b, _ := json.Marshal(map[string][]string{"ids": ids})
	return string(b)
}

// TestAlbumsSharedBetweenAccounts: anna (first admin, the --library
// folder) and ben (his own folder, `library add`) see only their own
// photos until anna shares an album with ben as viewer: then ben sees
// exactly its photos besides his own — in the API, on the album page and
// through media, with PostgreSQL stopped too — and none of anna's others.
// As viewer he cannot change it (403); carl, a third account, gets 404
// for the album and its photos; as editor ben adds only photos he sees;
// unsharing ends his access within seconds; a cross-site POST is refused.
func TestAlbumsSharedBetweenAccounts(t *testing.T) {
	l := writePeopleLibraries(t)
	cluster, dbURL := startCluster(t, nil)
	addUser(t, dbURL, "anna", annaPassword, true)
	addUser(t, dbURL, "ben", benPassword, false)
	addUser(t, dbURL, "carl", benPassword, false)
	s := startServe(t, serveOpts{dbURL: dbURL, library: l.a, budget: 8})
	if out, err := libraryCLI(t, dbURL, "add", l.b, "--owner", "ben"); err != nil {
		t.Fatalf("library add: %v\n%s", err, out)
	}
	anna := signedIn(t, s, "anna", annaPassword)
	ben := signedIn(t, s, "ben", benPassword)
	carl := signedIn(t, s, "carl", benPassword)
	waitFor(t, "both libraries indexed", 4*time.Minute, func() bool {
		a, err1 := listPhotos(anna, s.base, "/api/photos?limit=50")
		b, err2 := listPhotos(ben, s.base, "/api/photos?limit=50")
		if err1 == nil && err2 == nil && (notTheirs(a, l.aIDs) != nil || notTheirs(b, l.bIDs) != nil) {
			t.Fatalf("lists show photos of others: anna %v; ben %v", notTheirs(a, l.aIDs), notTheirs(b, l.bIDs))
		}
		return err1 == nil && err2 == nil && sameIDs(a, l.aIDs) == "" && sameIDs(b, l.bIDs) == ""
	})

	annaOnly := slices.Sorted(maps.Keys(minus(l.aIDs, l.bIDs)))
	inAlbum, outside := annaOnly[:2], annaOnly[2:]
	benOnly := slices.Sorted(maps.Keys(minus(l.bIDs, l.aIDs)))

	st, b := albumReq(t, anna, "POST", s.base+"/api/albums", `{"name":"Family trip"}`)
	var created struct{ ID int64 }
	if st != 201 || json.Unmarshal(b, &created) != nil || created.ID == 0 {
		t.Fatalf("POST /api/albums: %d %s", st, b)
	}
	u := fmt.Sprintf("%s/api/albums/%d", s.base, created.ID)
	page := fmt.Sprintf("/albums/%d", created.ID)
	if st, b := albumReq(t, anna, "POST", u+"/photos", idsJSON(inAlbum...)); st != 200 {
		t.Fatalf("add photos: %d %s", st, b)
	}
	if st, b := albumReq(t, anna, "POST", u+"/photos", idsJSON(benOnly[0])); st != 404 || strings.Contains(string(b), benOnly[0]) {
		t.Fatalf("anna adding ben's photo: %d %s, want 404 naming none", st, b)
	}
	// A cross-site request is refused before it changes anything.
	if st, _ := albumReq(t, anna, "POST", u+"/members", `{"user":"ben","role":"editor"}`, "Sec-Fetch-Site", "cross-site"); st != 403 {
		t.Fatalf("cross-site POST members: %d, want 403", st)
	}
	if resp, _ := post(t, anna, s.base+page+"/delete", nil, http.Header{"Origin": {"https://evil.example"}}); resp.StatusCode != 403 {
		t.Fatalf("cross-site POST of the delete form: %d, want 403", resp.StatusCode)
	}
	if st, _ := albumReq(t, ben, "GET", u, ""); st != 404 {
		t.Fatalf("ben, the album not shared yet: %d, want 404", st)
	}

	if st, b := albumReq(t, anna, "POST", u+"/members", `{"user":"ben","role":"viewer"}`); st != 200 {
		t.Fatalf("share with ben: %d %s", st, b)
	}
	shared := time.Now()
	want := map[string]bool{}
	for _, id := range inAlbum {
		want[id] = true
	}
	waitFor(t, "ben to see the album's media", 15*time.Second, func() bool {
		for id := range want {
			if status(t, ben, s.base+"/thumbnail/"+id+"?v=1") != 200 {
				return false
			}
		}
		return true
	})
	t.Logf("a shared album reached ben's media after %s", time.Since(shared).Round(time.Millisecond))
	if got, err := listPhotos(ben, s.base, fmt.Sprintf("/api/albums/%d?limit=1", created.ID)); err != nil || sameIDs(got, want) != "" {
		t.Fatalf("ben: the album's photos: %v %s", err, sameIDs(got, want))
	}
	if got, err := listPhotos(ben, s.base, "/api/photos?limit=50"); err != nil || sameIDs(got, union(l.bIDs, want)) != "" {
		t.Fatalf("ben: /api/photos with the shared album: %v %s", err, sameIDs(got, union(l.bIDs, want)))
	}
	if got, err := listPhotos(ben, s.base, "/api/search?limit=50&q=album:family_trip"); err != nil || sameIDs(got, want) != "" {
		t.Fatalf("ben: album:family_trip: %v %s", err, sameIDs(got, want))
	}
	code, _, body := fetch(t, ben, s.base, page)
	if code != 200 {
		t.Fatalf("ben: %s: %d", page, code)
	}
	for _, id := range inAlbum {
		if !strings.Contains(string(body), "/thumbnail/"+id) {
			t.Errorf("ben: the album page lacks %s", id)
		}
	}
	for _, id := range outside {
		if strings.Contains(string(body), id) {
			t.Errorf("ben: the album page shows anna's %s", id)
		}
	}
	if strings.Contains(string(body), "annaonly-") || strings.Contains(string(body), "anna-secret-name") {
		t.Errorf("ben: the album page names anna's files")
	}
	for _, id := range outside {
		for _, r := range idRoutes {
			if st := status(t, ben, s.base+fmt.Sprintf(r.path, id)); st != 404 {
				t.Errorf("ben: %s of anna's photo outside the album: %d, want 404", fmt.Sprintf(r.path, id), st)
			}
		}
	}
	// A viewer changes nothing; carl sees nothing.
	for _, r := range []struct{ method, path, body string }{
		{"PATCH", "", `{"name":"Ben's now"}`}, {"DELETE", "", ""},
		{"POST", "/photos", idsJSON(benOnly[0])}, {"DELETE", "/photos", idsJSON(inAlbum[0])},
		{"POST", "/members", `{"user":"carl","role":"viewer"}`},
	} {
		if st, b := albumReq(t, ben, r.method, u+r.path, r.body); st != 403 {
			t.Errorf("ben (viewer): %s %s: %d %s, want 403", r.method, r.path, st, b)
		}
		if st, _ := albumReq(t, carl, r.method, u+r.path, r.body); st != 404 {
			t.Errorf("carl: %s %s: %d, want 404", r.method, r.path, st)
		}
	}
	if st, _ := albumReq(t, carl, "GET", u, ""); st != 404 {
		t.Errorf("carl: GET the album: %d, want 404", st)
	}
	if code, _, _ := fetch(t, carl, s.base, page); code != 404 {
		t.Errorf("carl: %s: %d, want 404", page, code)
	}
	for _, id := range annaOnly {
		for _, r := range idRoutes {
			if st := status(t, carl, s.base+fmt.Sprintf(r.path, id)); st != 404 {
				t.Errorf("carl: %s: %d, want 404", fmt.Sprintf(r.path, id), st)
			}
		}
	}

	// Editor: his own photos go in, anna's others do not.
	if st, _ := albumReq(t, anna, "POST", u+"/members", `{"user":"ben","role":"editor"}`); st != 200 {
		t.Fatal("make ben an editor")
	}
	if st, _ := albumReq(t, ben, "POST", u+"/photos", idsJSON(benOnly[0], outside[0])); st != 404 {
		t.Errorf("ben (editor) adding anna's photo outside the album: %d, want 404", st)
	}
	if st, b := albumReq(t, ben, "POST", u+"/photos", idsJSON(benOnly[0])); st != 200 {
		t.Errorf("ben (editor) adding his photo: %d %s", st, b)
	}
	if st, _ := albumReq(t, ben, "DELETE", u, ""); st != 403 {
		t.Errorf("ben (editor) deleting the album: %d, want 403", st)
	}
	want[benOnly[0]] = true
	if got, err := listPhotos(anna, s.base, fmt.Sprintf("/api/albums/%d?limit=2", created.ID)); err != nil || sameIDs(got, want) != "" {
		t.Errorf("anna: the album after ben's addition: %v %s", err, sameIDs(got, want))
	}

	// Unshared: within seconds ben loses the album's photos, media
	// included; his own photo stays his.
	if st, _ := albumReq(t, anna, "DELETE", u+"/members/ben", ""); st != 204 {
		t.Fatalf("unshare: %d", st)
	}
	unshared := time.Now()
	waitFor(t, "ben to lose the unshared album", 15*time.Second, func() bool {
		for _, id := range inAlbum {
			for _, p := range []string{"/api/photos/" + id, "/thumbnail/" + id + "?v=1", "/original/" + id} {
				if status(t, ben, s.base+p) != 404 {
					return false
				}
			}
		}
		return status(t, ben, u) == 404
	})
	t.Logf("an unshared album left ben after %s", time.Since(unshared).Round(time.Millisecond))
	if got, err := listPhotos(ben, s.base, "/api/photos?limit=50"); err != nil || sameIDs(got, l.bIDs) != "" {
		t.Errorf("ben after the unshare: %v %s", err, sameIDs(got, l.bIDs))
	}

	// Shared again, then PostgreSQL stops: media still answer from
	// memory, and only for the album's photos.
	if st, _ := albumReq(t, anna, "POST", u+"/members", `{"user":"ben","role":"viewer"}`); st != 200 {
		t.Fatal("share again")
	}
	waitFor(t, "ben to see the album again", 15*time.Second, func() bool {
		return status(t, ben, s.base+"/thumbnail/"+inAlbum[0]+"?v=1") == 200
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range mediaRoutes {
		for _, id := range inAlbum {
			if st, _, b := fetch(t, ben, s.base, fmt.Sprintf(r, id)); st != 200 || len(b) == 0 {
				t.Errorf("ben, database stopped: %s (in the shared album): %d, want 200", fmt.Sprintf(r, id), st)
			}
		}
		for _, id := range outside {
			if st, _, _ := fetch(t, ben, s.base, fmt.Sprintf(r, id)); st != 404 {
				t.Errorf("ben, database stopped: %s (anna's, outside): %d, want 404", fmt.Sprintf(r, id), st)
			}
			if st, _, _ := fetch(t, carl, s.base, fmt.Sprintf(r, id)); st != 404 {
				t.Errorf("carl, database stopped: %s: %d, want 404", fmt.Sprintf(r, id), st)
			}
		}
	}
}
