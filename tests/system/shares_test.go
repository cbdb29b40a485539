package system

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/library"
	"shoebox/internal/media"
	"shoebox/internal/media/videotest"
)

// createShare POSTs a share request as c and returns the link's id and URL.
func createShare(t *testing.T, c *http.Client, base, body string) (int64, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/shares", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		ID  int64  `json:"id"`
		URL string `json:"url"`
	}
	if resp.StatusCode != 201 || json.Unmarshal(b, &out) != nil || !strings.HasPrefix(out.URL, "/s/") || len(out.URL) != 3+43 {
		t.Fatalf("POST /api/shares %s: %d %s", body, resp.StatusCode, b)
	}
	return out.ID, out.URL
}

func visitor(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// TestShareLinks: a visitor of a link sees what was shared and nothing
// else, by any route or id; downloads only when allowed, without GPS and
// camera when the link hides them; a password is asked by a form and
// throttled; an expired or revoked link answers 410, its media too, within
// a second; nobody but the owner revokes it.
func TestShareLinks(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	lib, _ := makeLibrary(t, 4, 0)
	clips := t.TempDir()
	videotest.Write(t, clips)
	for _, name := range []string{"h264.mp4", "vp9.webm"} {
		copyFile(t, filepath.Join(clips, name), filepath.Join(lib, "zz_"+name))
	}
	h264ID, _, _ := library.Hash(filepath.Join(lib, "zz_h264.mp4"))
	vp9ID, _, _ := library.Hash(filepath.Join(lib, "zz_vp9.webm"))
	gps := filepath.Join(lib, "zz_with_gps.jpg")
	copyFile(t, filepath.Join(repoRoot, "testdata/fixtures/gps/nikon_d2h_gps.jpg"), gps)
	gpsID, _, err := library.Hash(gps)
	if err != nil {
		t.Fatal(err)
	}
	addUser(t, dbURL, "anna", annaPassword, true)
	addUser(t, dbURL, "ben", annaPassword, false)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 6})
	anna := signedIn(t, s, "anna", annaPassword)
	ben := signedIn(t, s, "ben", annaPassword) // before the password guesses below block this address
	var ids map[string]string
	waitFor(t, "library indexed", 2*time.Minute, func() bool {
		ids, err = listPhotos(anna, s.base, "/api/photos?limit=50")
		return err == nil && len(ids) == 7
	})
	var others []string
	for id := range ids {
		if id != gpsID && id != h264ID && id != vp9ID {
			others = append(others, id)
		}
	}
	shared := []string{gpsID, others[0]}
	notShared := others[1:]

	_, link := createShare(t, anna, s.base, `{"ids":["`+gpsID+`","`+others[0]+`"],"allow_download":true}`)
	v := visitor(t)
	st, h, page := fetch(t, v, s.base, link)
	if st != 200 || h.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("visitor at the link: %d %v", st, h)
	}
	for _, id := range shared {
		if !strings.Contains(string(page), "/thumbnail/"+id) {
			t.Errorf("the link's page lacks %s", id)
		}
	}
	for _, id := range notShared {
		if strings.Contains(string(page), id) {
			t.Errorf("the link's page names %s, which was not shared", id)
		}
	}
	for _, name := range []string{"zz_with_gps", "000_", "NIKON"} {
		if strings.Contains(string(page), name) {
			t.Errorf("the link's page shows %q (file names and camera are hidden)", name)
		}
	}
	for _, id := range shared {
		for _, p := range []string{"/thumbnail/" + id + "?v=1", "/preview/" + id + "?v=1", link + "/p/" + id} {
			if st, _, _ := fetch(t, v, s.base, p); st != 200 {
				t.Errorf("visitor GET %s: %d, want 200", p, st)
			}
		}
	}
	// Every other route and id: nothing.
	for _, id := range append(notShared, "AAAAAAAAAAAAAAAAAAAA") {
		for _, p := range []string{"/thumbnail/" + id + "?v=1", "/preview/" + id + "?v=1", "/original/" + id, link + "/p/" + id} {
			if st, _, b := fetch(t, v, s.base, p); st != 404 {
				t.Errorf("visitor GET %s (not shared): %d %s, want 404", p, st, brief(b))
			}
		}
	}
	for _, p := range []string{"/", "/photo/" + shared[0], "/api/photos", "/api/photos/" + shared[0], "/api/photos/" + shared[0] + "/similar",
		"/api/search?q=a", "/api/stats", "/stats", "/duplicates", "/api/shares", "/shares", "/favorites"} {
		if st, _, _ := fetch(t, v, s.base, p); st != 303 && st != 401 {
			t.Errorf("visitor GET %s: %d, want 303 to sign in or 401", p, st)
		}
	}
	// A forged or altered share grant opens nothing.
	u, _ := url.Parse(s.base)
	for _, ck := range v.Jar.Cookies(u) {
		if ck.Name == "shoebox_share" {
			forged := visitor(t)
			b := []byte(ck.Value)
			b[3] = flip(b[3])[0]
			forged.Jar.SetCookies(u, []*http.Cookie{{Name: "shoebox_share", Value: string(b)}})
			if st, _, _ := fetch(t, forged, s.base, "/thumbnail/"+shared[0]+"?v=1"); st != 401 {
				t.Errorf("an altered share grant: %d, want 401", st)
			}
		}
	}

	// The download: the original, under its id, without GPS and camera.
	st, h, orig := fetch(t, v, s.base, "/original/"+gpsID)
	if st != 200 || !strings.Contains(h.Get("Content-Disposition"), gpsID+".jpg") {
		t.Fatalf("visitor download: %d %v", st, h)
	}
	got := filepath.Join(t.TempDir(), "got.jpg")
	os.WriteFile(got, orig, 0o600)
	m, _ := media.ReadMeta(got)
	if m.Lat != nil || m.Make != "" || m.Model != "" {
		t.Errorf("downloaded original keeps metadata the link hides: %+v", m)
	}
	before, _ := media.ReadMeta(gps)
	if before.Lat == nil {
		t.Fatal("fixture has no GPS: the check above is blind")
	}

	// View only: no originals.
	_, viewOnly := createShare(t, anna, s.base, `{"ids":["`+others[0]+`"],"show_metadata":true}`)
	v2 := visitor(t)
	fetch(t, v2, s.base, viewOnly)
	if st, _, _ := fetch(t, v2, s.base, "/original/"+others[0]); st != 403 {
		t.Errorf("download from a view-only link: %d, want 403", st)
	}
	if st, _, _ := fetch(t, v2, s.base, "/thumbnail/"+gpsID+"?v=1"); st != 404 {
		t.Errorf("another link's photo from this link: %d, want 404", st)
	}

	// Password: asked by a form, throttled, then the photos.
	_, locked := createShare(t, anna, s.base, `{"ids":["`+others[0]+`"],"password":"open sesame"}`)
	v3 := visitor(t)
	if st, _, b := fetch(t, v3, s.base, locked); st != 200 || !strings.Contains(string(b), `type="password"`) || strings.Contains(string(b), others[0]) {
		t.Fatalf("a locked link: %d, want its password form only", st)
	}
	if st, _, _ := fetch(t, v3, s.base, "/thumbnail/"+others[0]+"?v=1"); st != 401 {
		t.Errorf("media of a locked link before its password: %d, want 401", st)
	}
	for i := 0; i < 5; i++ {
		resp, err := v3.PostForm(s.base+locked, url.Values{"password": {"wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("wrong password %d: %d, want 401", i, resp.StatusCode)
		}
	}
	resp, err := v3.PostForm(s.base+locked, url.Values{"password": {"open sesame"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the right password after 5 wrong ones: %d, want 429 with Retry-After", resp.StatusCode)
	}
	v4 := fromAddrVisitor(t, "127.0.0.2")
	resp, err = v4.PostForm(s.base+locked, url.Values{"password": {"open sesame"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Fatalf("the right password from another address while the link is throttled: %d, want 429 (per link)", resp.StatusCode)
	}

	// Videos on links: playing is viewing (no download needed). A link
	// that hides metadata plays the conversion (made without any) but not
	// an original, which carries its place and date; one that shows it
	// plays the original.
	waitFor(t, "the VP9 clip converted", 2*time.Minute, func() bool {
		st, _, _ := fetch(t, anna, s.base, "/video/"+vp9ID)
		return st == 200
	})
	_, hidden := createShare(t, anna, s.base, `{"ids":["`+h264ID+`","`+vp9ID+`"]}`)
	v7 := visitor(t)
	fetch(t, v7, s.base, hidden)
	rangeGet := func(c *http.Client, id string) (int, string) {
		req, _ := http.NewRequest("GET", s.base+"/video/"+id, nil)
		req.Header.Set("Range", "bytes=0-99")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	if st, ct := rangeGet(v7, vp9ID); st != 206 || ct != "video/mp4" {
		t.Errorf("a converted video on a link hiding metadata: %d %s, want 206 video/mp4", st, ct)
	}
	if st, _ := rangeGet(v7, h264ID); st != 403 {
		t.Errorf("an original video on a link hiding metadata: %d, want 403", st)
	}
	if st, _ := rangeGet(v7, others[0]); st != 404 {
		t.Errorf("/video of a photo not on the link: %d, want 404", st)
	}
	_, shown := createShare(t, anna, s.base, `{"ids":["`+h264ID+`"],"show_metadata":true}`)
	v8 := visitor(t)
	fetch(t, v8, s.base, shown)
	if st, ct := rangeGet(v8, h264ID); st != 206 || ct != "video/mp4" {
		t.Errorf("an original video on a link showing metadata: %d %s, want 206", st, ct)
	}
	if st, _ := rangeGet(v8, vp9ID); st != 404 {
		t.Errorf("another link's video: %d, want 404", st)
	}

	// An album's link shows what the album holds now; only its owner
	// makes one.
	req, _ := http.NewRequest("POST", s.base+"/api/albums", strings.NewReader(`{"name":"Trip"}`))
	req.Header.Set("Content-Type", "application/json")
	aresp, err := anna.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var album struct{ ID int64 }
	json.NewDecoder(aresp.Body).Decode(&album)
	aresp.Body.Close()
	if aresp.StatusCode != 201 || album.ID == 0 {
		t.Fatalf("POST /api/albums: %d", aresp.StatusCode)
	}
	addToAlbum := func(id string) {
		req, _ := http.NewRequest("POST", s.base+"/api/albums/"+strconv.FormatInt(album.ID, 10)+"/photos", strings.NewReader(`{"ids":["`+id+`"]}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := anna.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("add %s to the album: %d", id, resp.StatusCode)
		}
	}
	addToAlbum(others[2])
	areq := `{"album":` + strconv.FormatInt(album.ID, 10) + `}`
	req, _ = http.NewRequest("POST", s.base+"/api/shares", strings.NewReader(areq))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := ben.Do(req); err != nil || resp.StatusCode != 404 {
		t.Fatalf("ben linking anna's album: %v %v, want 404", resp, err)
	}
	_, albumLink := createShare(t, anna, s.base, areq)
	v6 := visitor(t)
	if st, _, b := fetch(t, v6, s.base, albumLink); st != 200 || !strings.Contains(string(b), "/thumbnail/"+others[2]) || strings.Contains(string(b), others[1]) {
		t.Fatalf("album link: %d, want the album's one photo", st)
	}
	addToAlbum(others[1])
	waitFor(t, "a photo added to the album reaches its link's visitor", 3*time.Second, func() bool {
		st, _, _ := fetch(t, v6, s.base, "/thumbnail/"+others[1]+"?v=1")
		return st == 200
	})
	if st, _, _ := fetch(t, v6, s.base, "/thumbnail/"+gpsID+"?v=1"); st != 404 {
		t.Errorf("album link visitor, a photo not in the album: %d, want 404", st)
	}

	// Revoked by its owner only; expired: 410, media too.
	id, revokable := createShare(t, anna, s.base, `{"ids":["`+others[1]+`"]}`)
	v5 := visitor(t)
	fetch(t, v5, s.base, revokable)
	if st, _, _ := fetch(t, v5, s.base, "/thumbnail/"+others[1]+"?v=1"); st != 200 {
		t.Fatalf("before revoking: %d", st)
	}
	del := func(c *http.Client) int {
		req, _ := http.NewRequest("DELETE", s.base+"/api/shares/"+strconv.FormatInt(id, 10), nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := del(ben); st != 404 {
		t.Errorf("ben revoking anna's link: %d, want 404", st)
	}
	if st := del(anna); st != 204 {
		t.Fatalf("anna revoking her link: %d", st)
	}
	if st, _, _ := fetch(t, v5, s.base, revokable); st != 410 {
		t.Errorf("a revoked link: %d, want 410", st)
	}
	waitFor(t, "revoked link's media refused", 3*time.Second, func() bool {
		st, _, _ := fetch(t, v5, s.base, "/thumbnail/"+others[1]+"?v=1")
		return st == 410
	})
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `UPDATE shares SET expires_at = now() - interval '1 second' WHERE key_hash = sha256(convert_to($1, 'UTF8'))`, strings.TrimPrefix(link, "/s/")); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := fetch(t, v, s.base, link); st != 410 {
		t.Errorf("an expired link: %d, want 410", st)
	}
	waitFor(t, "expired link's media refused", 3*time.Second, func() bool {
		st, _, _ := fetch(t, v, s.base, "/thumbnail/"+shared[1]+"?v=1")
		return st == 410
	})
}

func fromAddrVisitor(t *testing.T, ip string) *http.Client {
	c := fromAddr(t, ip)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}
