package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"shoebox/internal/auth"
	"shoebox/internal/library"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// jsonDo sends body (JSON, when not "") with c and decodes the answer
// into out (when not nil, and the answer is JSON).
func jsonDo(t *testing.T, c *http.Client, method, u, body string, out any, hdr ...string) int {
	t.Helper()
	var hs []string
	if body != "" {
		hs = append(hs, "Content-Type", "application/json")
	}
	resp, b := doBody(t, c, method, u, body, append(hs, hdr...)...)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatalf("%s %s: %v: %.200s", method, u, err, b)
		}
	}
	return resp.StatusCode
}

func doBody(t *testing.T, c *http.Client, method, u, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, sb.String()
}

type albumJSON struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Cover       *string `json:"cover"`
	Count       int     `json:"count"`
	Role        string  `json:"role"`
	Owner       string  `json:"owner"`
	Members     []struct {
		User string `json:"user"`
		Role string `json:"role"`
	} `json:"members"`
}

type albumPageJSON struct {
	Album  albumJSON        `json:"album"`
	Photos []map[string]any `json:"photos"`
	Next   *string          `json:"next"`
}

// albumIDs walks an album's pages (limit 2) and lists its photo ids.
func albumIDs(t *testing.T, c *http.Client, base string, id int64) []string {
	t.Helper()
	var out []string
	cursor := ""
	for range 50 {
		var p albumPageJSON
		u := fmt.Sprintf("%s/api/albums/%d?limit=2", base, id)
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		if st := jsonDo(t, c, "GET", u, "", &p); st != 200 || p.Photos == nil {
			t.Fatalf("GET album %d: %d", id, st)
		}
		for _, ph := range p.Photos {
			out = append(out, ph["id"].(string))
		}
		if p.Next == nil {
			return out
		}
		cursor = *p.Next
	}
	t.Fatal("album: too many pages")
	return nil
}

// addLibrary gives owner a library of n photos of its own (thumbnails
// written), newest first.
func addLibrary(t *testing.T, s *site, root, owner string, n int) []string {
	t.Helper()
	ctx := context.Background()
	lib, _, err := s.st.AddLibrary(ctx, root, owner)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2018, 1, 1, 12, 0, 0, 0, time.UTC)
	var out []string
	for i := range n {
		sum := sha256.Sum256([]byte(root + fmt.Sprint(i)))
		id := library.PhotoID(sum[:])
		if _, err := s.st.SaveScanned(ctx, lib, []storage.ScannedFile{{RelPath: fmt.Sprintf("%s-%d.jpg", owner, i), Size: 10, MTime: base, PhotoID: id, Hash: sum[:]}}); err != nil {
			t.Fatal(err)
		}
		if err := s.st.SavePhotoResult(ctx, id, storage.PhotoResult{Format: "jpeg", Width: 40, Height: 30, ThumbWidth: 4, ThumbHeight: 3,
			TakenAt: base.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := s.store.Write(id, thumbs.Thumb, []byte("webp-"+id)); err != nil {
			t.Fatal(err)
		}
		out = append([]string{id}, out...)
	}
	return out
}

// Albums without accounts: the local user makes, fills, pages, renames,
// covers, searches and deletes them through the API and the pages; the
// first admin then owns them. Cross-site changes are refused.
func TestAlbumsNoAccount(t *testing.T) {
	s := newSite(t, 5, 4, plainName)
	c := client(t)
	base := s.srv.URL
	var created struct{ ID int64 }
	if st := jsonDo(t, c, "POST", base+"/api/albums", `{"name":"Summer trip"}`, &created); st != 201 || created.ID == 0 {
		t.Fatalf("create: %d %+v", st, created)
	}
	id := created.ID
	u := fmt.Sprintf("%s/api/albums/%d", base, id)
	for _, bad := range []string{`{"name":""}`, `{"name":"   "}`, `{"name":"a\u0000b"}`, `{"nom":"x"}`, `not json`, `{"name":"` + strings.Repeat("x", 201) + `"}`} {
		if st := jsonDo(t, c, "POST", base+"/api/albums", bad, nil); st != 400 {
			t.Errorf("create with %.40s: %d, want 400", bad, st)
		}
	}
	// A cross-site request changes nothing, with the no-account mode's
	// loopback trust or not.
	if st := jsonDo(t, c, "POST", base+"/api/albums", `{"name":"evil"}`, nil, "Sec-Fetch-Site", "cross-site"); st != 403 {
		t.Fatalf("cross-site POST /api/albums: %d, want 403", st)
	}
	if resp, _ := do(t, c, "POST", u[:len(base)]+fmt.Sprintf("/albums/%d/delete", id), url.Values{}, "Origin", "https://evil.example"); resp.StatusCode != 403 {
		t.Fatalf("cross-site POST of the delete form: %d, want 403", resp.StatusCode)
	}

	photos := s.ids // newest first
	if st := jsonDo(t, c, "POST", u+"/photos", `{"ids":["`+photos[0]+`","`+photos[2]+`","`+photos[4]+`"]}`, nil); st != 200 {
		t.Fatalf("add: %d", st)
	}
	for _, bad := range []string{`{"ids":[]}`, `{"ids":["../x"]}`, `{"ids":"x"}`} {
		if st := jsonDo(t, c, "POST", u+"/photos", bad, nil); st != 400 {
			t.Errorf("add %s: %d, want 400", bad, st)
		}
	}
	if st := jsonDo(t, c, "POST", u+"/photos", `{"ids":["AAAAAAAAAAAAAAAAAAAA"]}`, nil); st != 404 {
		t.Errorf("add a photo that does not exist: %d, want 404", st)
	}
	if got := albumIDs(t, c, base, id); !slices.Equal(got, []string{photos[0], photos[2], photos[4]}) {
		t.Fatalf("album photos paged by 2: %v", got)
	}
	if st := jsonDo(t, c, "PATCH", u, `{"name":"Sea","description":"two weeks","cover":"`+photos[4]+`"}`, nil); st != 204 {
		t.Fatalf("patch: %d", st)
	}
	if st := jsonDo(t, c, "PATCH", u, `{"cover":"`+photos[1]+`"}`, nil); st != 400 {
		t.Fatalf("a cover not in the album: %d, want 400", st)
	}
	var list struct{ Albums []albumJSON }
	if st := jsonDo(t, c, "GET", base+"/api/albums", "", &list); st != 200 || len(list.Albums) != 1 {
		t.Fatalf("albums: %d %+v", st, list)
	}
	if a := list.Albums[0]; a.Name != "Sea" || a.Description != "two weeks" || a.Cover == nil || *a.Cover != photos[4] || a.Count != 3 || a.Role != "owner" {
		t.Fatalf("album listed: %+v", a)
	}
	if st := jsonDo(t, c, "DELETE", u+"/photos", `{"ids":["`+photos[2]+`"]}`, nil); st != 200 {
		t.Fatalf("remove: %d", st)
	}
	// album:NAME filters every list (underscores for spaces).
	if st := jsonDo(t, c, "PATCH", u, `{"name":"Sea side"}`, nil); st != 204 {
		t.Fatal(st)
	}
	_, body := get(t, base+"/api/search?q=album:sea_side")
	var got []string
	for _, p := range photoPage(t, body).Photos {
		got = append(got, p["id"].(string))
	}
	if !slices.Equal(got, []string{photos[0], photos[4]}) {
		t.Fatalf("album:sea_side: %v", got)
	}
	if _, body := get(t, base+"/api/search?q=album:other"); len(photoPage(t, body).Photos) != 0 {
		t.Fatalf("album:other lists photos")
	}

	// The pages: list with cover, album grid, photo page form.
	if resp, page := get(t, base+"/albums"); resp.StatusCode != 200 || !strings.Contains(page, "/thumbnail/"+photos[4]) || !strings.Contains(page, "Sea side") {
		t.Fatalf("/albums: %d\n%s", resp.StatusCode, page)
	}
	resp, page := get(t, fmt.Sprintf("%s/albums/%d", base, id))
	if resp.StatusCode != 200 || strings.Count(page, `class="tile"`) != 2 || !strings.Contains(page, "two weeks") {
		t.Fatalf("album page: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := get(t, base+"/photo/"+photos[1]); resp.StatusCode != 200 || !strings.Contains(page, fmt.Sprintf(`<option value="%d">Sea side</option>`, id)) {
		t.Fatalf("photo page has no add-to-album form: %d\n%s", resp.StatusCode, page)
	}
	resp, _ = do(t, c, "POST", base+"/photo/"+photos[1]+"/album", url.Values{"album": {fmt.Sprint(id)}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/photo/"+photos[1]+fmt.Sprintf("?added=%d", id) {
		t.Fatalf("add from the photo page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = do(t, c, "POST", base+"/albums", url.Values{"name": {"Second"}})
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/albums/") {
		t.Fatalf("create form: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	second := base + resp.Header.Get("Location")
	if resp, _ := do(t, c, "POST", second+"/delete", url.Values{}); resp.StatusCode != 303 || resp.Header.Get("Location") != "/albums" {
		t.Fatalf("delete form: %d", resp.StatusCode)
	}
	if resp, _ := get(t, second); resp.StatusCode != 404 {
		t.Fatalf("deleted album page: %d", resp.StatusCode)
	}
	for _, p := range []string{"/albums/0", "/albums/x", "/albums/01", "/api/albums/99999"} {
		if resp, _ := get(t, base+p); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}

	// The first admin adopts the local user's albums.
	addUser(t, s, "anna")
	anna := signIn(t, s, "anna")
	var a albumPageJSON
	if st := jsonDo(t, anna, "GET", u, "", &a); st != 200 || a.Album.Role != "owner" || a.Album.Owner != "anna" || len(a.Photos) != 3 {
		t.Fatalf("the local album for the first admin: %d %+v", st, a.Album)
	}
}

// Albums between accounts: shared as viewer, an album's photos reach
// ben's lists, pages and media (though in anna's library only); a viewer
// changes nothing (403); a stranger gets 404 for the album and for its
// photos; an editor adds only what he sees; unsharing takes it all back;
// a read key changes nothing.
func TestAlbumSharingBetweenAccounts(t *testing.T) {
	s := newSite(t, 4, 4, plainName)
	ctx := context.Background()
	base := s.srv.URL
	addUser(t, s, "anna")
	addMember(t, s, "ben")
	addMember(t, s, "carl")
	benPhotos := addLibrary(t, s, "/ben", "ben", 2)
	anna, ben, carl := signIn(t, s, "anna"), signIn(t, s, "ben"), signIn(t, s, "carl")
	annas := s.ids // /photos: the first admin's
	eventually(t, "ben's new library out of anna's sight", func() bool {
		resp, _ := do(t, anna, "GET", base+"/api/photos/"+benPhotos[0], nil)
		return resp.StatusCode == 404
	})

	var created struct{ ID int64 }
	if st := jsonDo(t, anna, "POST", base+"/api/albums", `{"name":"Family"}`, &created); st != 201 {
		t.Fatalf("create: %d", st)
	}
	u := fmt.Sprintf("%s/api/albums/%d", base, created.ID)
	if st := jsonDo(t, anna, "POST", u+"/photos", `{"ids":["`+annas[0]+`","`+annas[1]+`"]}`, nil); st != 200 {
		t.Fatalf("add: %d", st)
	}
	// anna cannot add ben's photo: refused, naming none, nothing added.
	if resp, b := doBody(t, anna, "POST", u+"/photos", `{"ids":["`+annas[2]+`","`+benPhotos[0]+`"]}`); resp.StatusCode != 404 || strings.Contains(b, benPhotos[0]) {
		t.Fatalf("adding a photo she cannot see: %d %s", resp.StatusCode, b)
	}
	for _, who := range []*http.Client{ben, carl} {
		if st := jsonDo(t, who, "GET", u, "", nil); st != 404 {
			t.Fatalf("an album not shared: %d, want 404", st)
		}
		if resp, _ := do(t, who, "GET", base+"/thumbnail/"+annas[0]+"?v=1", nil); resp.StatusCode != 404 {
			t.Fatalf("a thumbnail of an album photo before sharing: %d", resp.StatusCode)
		}
	}
	if st := jsonDo(t, anna, "POST", u+"/members", `{"user":"ben","role":"viewer"}`, nil); st != 200 {
		t.Fatalf("share: %d", st)
	}
	for body, want := range map[string]int{`{"user":"nobody","role":"viewer"}`: 400, `{"user":"ben","role":"owner"}`: 400, `{"user":"anna","role":"viewer"}`: 400} {
		if st := jsonDo(t, anna, "POST", u+"/members", body, nil); st != want {
			t.Errorf("share %s: %d, want %d", body, st, want)
		}
	}
	// ben sees the album, its photos (lists, page, media) and no other of anna's.
	eventually(t, "ben's media of the shared album", func() bool {
		resp, _ := do(t, ben, "GET", base+"/thumbnail/"+annas[0]+"?v=1", nil)
		return resp.StatusCode == 200
	})
	if got := albumIDs(t, ben, base, created.ID); !slices.Equal(got, []string{annas[0], annas[1]}) {
		t.Fatalf("ben's view of the album: %v", got)
	}
	var list struct{ Albums []albumJSON }
	if jsonDo(t, ben, "GET", base+"/api/albums", "", &list); len(list.Albums) != 1 || list.Albums[0].Role != "viewer" || list.Albums[0].Owner != "anna" || list.Albums[0].Members != nil {
		t.Fatalf("ben's albums: %+v", list.Albums)
	}
	eventually(t, "ben's gallery holds the album's photos", func() bool {
		_, body := do(t, ben, "GET", base+"/api/photos", nil)
		var got []string
		for _, p := range photoPage(t, body).Photos {
			got = append(got, p["id"].(string))
		}
		return slices.Equal(got, []string{annas[0], annas[1], benPhotos[0], benPhotos[1]})
	})
	for _, p := range []string{"/api/photos/" + annas[2], "/photo/" + annas[2], "/thumbnail/" + annas[2] + "?v=1", "/original/" + annas[2]} {
		if resp, _ := do(t, ben, "GET", base+p, nil); resp.StatusCode != 404 {
			t.Errorf("ben: GET %s (anna's, not in the album): %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, page := do(t, ben, "GET", fmt.Sprintf("%s/albums/%d", base, created.ID), nil); resp.StatusCode != 200 || strings.Contains(page, "/photos/remove") || strings.Contains(page, "/delete") {
		t.Fatalf("ben's album page: %d (a viewer is offered no change)\n%s", resp.StatusCode, page)
	}
	// A viewer changes nothing: 403.
	for _, req := range []struct{ method, path, body string }{
		{"PATCH", "", `{"name":"Mine"}`}, {"DELETE", "", ""}, {"POST", "/photos", `{"ids":["` + benPhotos[0] + `"]}`},
		{"DELETE", "/photos", `{"ids":["` + annas[0] + `"]}`}, {"POST", "/members", `{"user":"carl","role":"viewer"}`},
	} {
		if st := jsonDo(t, ben, req.method, u+req.path, req.body, nil); st != 403 {
			t.Errorf("viewer: %s %s: %d, want 403", req.method, req.path, st)
		}
		if st := jsonDo(t, carl, req.method, u+req.path, req.body, nil); st != 404 {
			t.Errorf("stranger: %s %s: %d, want 404", req.method, req.path, st)
		}
	}
	if resp, _ := do(t, ben, "POST", fmt.Sprintf("%s/albums/%d/edit", base, created.ID), url.Values{"name": {"Mine"}}); resp.StatusCode != 403 {
		t.Errorf("viewer: rename form: %d, want 403", resp.StatusCode)
	}
	// A read key of ben's: not even a request to change (the key's scope).
	key, keyHash := auth.NewAPIKey()
	benID, _ := s.st.UserByName(ctx, "ben")
	if _, err := s.st.AddAPIKey(ctx, benID.ID, keyHash, "read"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ben's read key known", func() bool {
		return jsonDo(t, client(t), "GET", u, "", nil, "Authorization", "Bearer "+key) == 200
	})
	if st := jsonDo(t, client(t), "POST", base+"/api/albums", `{"name":"k"}`, nil, "Authorization", "Bearer "+key); st != 403 {
		t.Fatalf("a read key creating an album: %d, want 403", st)
	}

	// Editor: adds his own photo, not anna's others; cannot delete.
	if st := jsonDo(t, anna, "POST", u+"/members", `{"user":"ben","role":"editor"}`, nil); st != 200 {
		t.Fatal(st)
	}
	if st := jsonDo(t, ben, "POST", u+"/photos", `{"ids":["`+benPhotos[0]+`","`+annas[3]+`"]}`, nil); st != 404 {
		t.Fatalf("editor adding anna's photo he cannot see: %d, want 404", st)
	}
	if st := jsonDo(t, ben, "POST", u+"/photos", `{"ids":["`+benPhotos[0]+`"]}`, nil); st != 200 {
		t.Fatalf("editor adding his photo: %d", st)
	}
	if st := jsonDo(t, ben, "DELETE", u, "", nil); st != 403 {
		t.Fatalf("editor deleting: %d, want 403", st)
	}
	var a albumPageJSON
	if jsonDo(t, anna, "GET", u, "", &a); len(a.Photos) != 3 || len(a.Album.Members) != 1 || a.Album.Members[0].User != "ben" || a.Album.Members[0].Role != "editor" {
		t.Fatalf("anna's view after ben's edit: %+v, %d photos", a.Album, len(a.Photos))
	}

	// Unshared: ben loses it, media included, within the poll.
	if st := jsonDo(t, anna, "DELETE", u+"/members/ben", "", nil); st != 204 {
		t.Fatalf("unshare: %d", st)
	}
	eventually(t, "ben's media of the unshared album refused", func() bool {
		resp, _ := do(t, ben, "GET", base+"/thumbnail/"+annas[0]+"?v=1", nil)
		return resp.StatusCode == 404
	})
	if st := jsonDo(t, ben, "GET", u, "", nil); st != 404 {
		t.Fatalf("the unshared album for ben: %d", st)
	}
	if resp, _ := do(t, anna, "GET", base+"/thumbnail/"+benPhotos[0]+"?v=1", nil); resp.StatusCode != 200 {
		t.Fatalf("anna, the photo ben added to her album: %d", resp.StatusCode)
	}
	if st := jsonDo(t, anna, "DELETE", u, "", nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if resp, _ := do(t, anna, "GET", base+"/api/photos/"+annas[0], nil); resp.StatusCode != 200 {
		t.Fatalf("a photo of the deleted album: %d", resp.StatusCode)
	}
}
