package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"shoebox/internal/place"
	"shoebox/internal/storage"
	"shoebox/internal/web"
)

// locate gives photo id a GPS position, placed as processing places it.
func locate(t *testing.T, s *site, id string, lat, lon float64) {
	t.Helper()
	ix, err := place.Default()
	if err != nil {
		t.Fatal(err)
	}
	var pl *place.Place
	if p, ok := ix.Lookup(lat, lon); ok {
		pl = &p
	}
	err = s.st.SavePhotoResult(context.Background(), id, storage.PhotoResult{Format: "jpeg", Width: 40, Height: 30, ThumbWidth: 4, ThumbHeight: 3,
		TakenAt: time.Date(2020, 5, 1, 10, 0, 0, 0, time.UTC), Lat: &lat, Lon: &lon, Place: pl, PlaceVersion: place.Version})
	if err != nil {
		t.Fatal(err)
	}
}

type mapJSON struct {
	Photos []struct {
		ID           string  `json:"id"`
		Lat          float64 `json:"lat"`
		Lon          float64 `json:"lon"`
		ThumbnailURL string  `json:"thumbnail_url"`
	} `json:"photos"`
	Truncated bool `json:"truncated"`
}

func mapIDs(t *testing.T, c *http.Client, base string) []string {
	t.Helper()
	var m mapJSON
	if st := jsonDo(t, c, "GET", base+"/api/map", "", &m); st != 200 || m.Photos == nil {
		t.Fatalf("GET /api/map: %d", st)
	}
	var ids []string
	for _, p := range m.Photos {
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string { slices.Sort(ids); return ids }

// A photo's place is in its API answer and on its page, found by
// place:NAME and by the plain word, counted in stats, and its position is
// on the map; a photo without GPS has none of it.
func TestPlacesShownSearchedCountedMapped(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	lisbon, tokyo, nowhere := s.ids[0], s.ids[1], s.ids[2]
	locate(t, s, lisbon, 38.7075, -9.1364)
	locate(t, s, tokyo, 35.6852, 139.7528)
	c := client(t)
	base := s.srv.URL

	var got struct {
		Place *place.Place `json:"place"`
	}
	if st := jsonDo(t, c, "GET", base+"/api/photos/"+lisbon, "", &got); st != 200 || got.Place == nil ||
		*got.Place != (place.Place{Country: "Portugal", Region: "Lisbon", City: "Lisbon"}) {
		t.Fatalf("/api/photos/{lisbon}: %d %+v", st, got.Place)
	}
	if _, body := do(t, c, "GET", base+"/api/photos/"+nowhere, nil); strings.Contains(body, `"place"`) {
		t.Fatalf("a photo without GPS has a place: %s", body)
	}
	_, body := do(t, c, "GET", base+"/api/photos/"+tokyo, nil)
	if !strings.Contains(body, `"place":{"country":"Japan","region":"Tokyo","city":"Tokyo"}`) {
		t.Fatalf("/api/photos/{tokyo}: %s", body)
	}
	for q, want := range map[string][]string{
		"place:lisbon": {lisbon}, "lisbon": {lisbon}, "place:Portugal": {lisbon}, "place:japan": {tokyo}, "tokyo": {tokyo},
		"place:lisb": nil, "place:france": nil,
	} {
		_, body := do(t, c, "GET", base+"/api/search?q="+q, nil)
		var ids []string
		for _, p := range photoPage(t, body).Photos {
			ids = append(ids, p["id"].(string))
		}
		if !slices.Equal(ids, want) {
			t.Errorf("search %q: %v, want %v", q, ids, want)
		}
	}
	if _, page := do(t, c, "GET", base+"/photo/"+lisbon, nil); !strings.Contains(page, `<a href="/search?q=place%3aLisbon">Lisbon</a>, <a href="/search?q=place%3aLisbon">Lisbon</a>, <a href="/search?q=place%3aPortugal">Portugal</a>`) {
		t.Fatal("the photo page does not name its place")
	}

	if ids := mapIDs(t, c, base); !slices.Equal(ids, sorted(lisbon, tokyo)) {
		t.Fatalf("map: %v, want the two located photos", ids)
	}
	var m mapJSON
	jsonDo(t, c, "GET", base+"/api/map", "", &m)
	for _, p := range m.Photos {
		if p.ID == lisbon && (p.Lat != 38.7075 || p.Lon != -9.1364 || p.ThumbnailURL != "/thumbnail/"+lisbon+"?v=1") {
			t.Fatalf("map photo: %+v", p)
		}
	}

	var st struct {
		Places storage.PlaceStats `json:"places"`
	}
	if code := jsonDo(t, c, "GET", base+"/api/stats", "", &st); code != 200 || st.Places.Located != 2 || st.Places.Placed != 2 ||
		len(st.Places.Countries) != 2 || len(st.Places.Cities) != 2 {
		t.Fatalf("stats: %d %+v", code, st.Places)
	}
	if _, page := do(t, c, "GET", base+"/stats", nil); !strings.Contains(page, `id="located"><a href="/map">2</a>`) || !strings.Contains(page, ">Portugal</a>") {
		t.Fatal("the stats page does not count places")
	}
	// Trashed: out of the map and the counts.
	if code := jsonDo(t, c, "PATCH", base+"/api/photos/"+tokyo, `{"trashed":true}`, nil); code != 200 {
		t.Fatalf("trash: %d", code)
	}
	if ids := mapIDs(t, c, base); !slices.Equal(ids, []string{lisbon}) {
		t.Fatalf("map after trashing: %v", ids)
	}
	if jsonDo(t, c, "GET", base+"/api/stats", "", &st); st.Places.Located != 1 {
		t.Fatalf("stats after trashing: %+v", st.Places)
	}
}

// The map page loads its assets from the binary; tiles come from the
// configured URL (their origin alone let through the page's CSP), and
// the outline it falls back on is served too.
func TestMapPage(t *testing.T) {
	s := newSite(t, 1, 4, plainName)
	h, err := web.New(s.db, s.st, s.store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.SetMap(web.MapOptions{Tiles: "https://{s}.tiles.example/{z}/{x}/{y}.png", Attribution: "&copy; Example"})
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	resp, page := get(t, srv.URL+"/map")
	if resp.StatusCode != 200 || !strings.Contains(page, `data-tiles="https://{s}.tiles.example/{z}/{x}/{y}.png"`) ||
		!strings.Contains(page, `/leaflet.js"`) || !strings.Contains(page, `/leaflet.markercluster.js"`) || !strings.Contains(page, `/map.js"`) ||
		strings.Contains(page, "unpkg") || strings.Contains(page, "cdn") {
		t.Fatalf("map page: %d\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: https://*.tiles.example;") {
		t.Fatalf("map page CSP: %s", csp)
	}
	if _, other := get(t, srv.URL+"/stats"); strings.Contains(other, "tiles.example") {
		t.Fatal("tiles leak into other pages")
	}
	if resp, _ := get(t, srv.URL+"/stats"); strings.Contains(resp.Header.Get("Content-Security-Policy"), "tiles.example") {
		t.Fatal("other pages let tiles through their CSP")
	}
	// Offline (no tiles): the outline alone.
	resp, page = get(t, s.srv.URL+"/map")
	if resp.StatusCode != 200 || !strings.Contains(page, `data-tiles=""`) {
		t.Fatalf("map without tiles: %d", resp.StatusCode)
	}
	resp, body := get(t, s.srv.URL+"/map/outline.json")
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &fc) != nil || fc.Type != "FeatureCollection" || len(fc.Features) < 150 {
		t.Fatalf("outline: %d %.100s", resp.StatusCode, body)
	}
	for _, asset := range []string{"leaflet.js", "leaflet.css", "leaflet.markercluster.js", "MarkerCluster.css", "map.js"} {
		if !strings.Contains(page, "/"+asset+`"`) {
			t.Fatalf("map page lacks %s", asset)
		}
	}
	for _, m := range regexp.MustCompile(`/static/[0-9a-f]+/[A-Za-z.]+`).FindAllString(page, -1) {
		if resp, _ := get(t, s.srv.URL+m); resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", m, resp.StatusCode)
		}
	}
}

// With accounts, the map lists only what the asker may see; a share link
// names the place only when it shows metadata.
func TestMapAndPlacesByVisibility(t *testing.T) {
	s := newSite(t, 2, 4, plainName)
	base := s.srv.URL
	anna, ben, bens := annaAndBen(t, s, 1)
	annas := s.ids
	locate(t, s, annas[0], 38.7075, -9.1364) // Lisbon
	locate(t, s, bens[0], 48.8606, 2.3376)   // Paris
	eventually(t, "ben's library out of anna's sight", func() bool {
		resp, _ := do(t, anna, "GET", base+"/api/photos/"+bens[0], nil)
		return resp.StatusCode == 404
	})
	if ids := mapIDs(t, anna, base); !slices.Equal(ids, []string{annas[0]}) {
		t.Fatalf("anna's map: %v, want her located photo only", ids)
	}
	if ids := mapIDs(t, ben, base); !slices.Equal(ids, []string{bens[0]}) {
		t.Fatalf("ben's map: %v, want his located photo only", ids)
	}
	for who, c := range map[string]*http.Client{"anna": anna, "ben": ben} {
		_, body := do(t, c, "GET", base+"/api/search?q=place:paris", nil)
		n := len(photoPage(t, body).Photos)
		if (who == "ben") != (n == 1) {
			t.Errorf("%s: place:paris found %d photos", who, n)
		}
		var st struct {
			Places storage.PlaceStats `json:"places"`
		}
		if jsonDo(t, c, "GET", base+"/api/stats", "", &st); st.Places.Located != 1 || len(st.Places.Countries) != 1 {
			t.Errorf("%s's place stats: %+v", who, st.Places)
		}
	}
	if resp, _ := do(t, client(t), "GET", base+"/api/map", nil); resp.StatusCode == 200 {
		t.Fatal("the map's photos without signing in")
	}
	// An album anna shares with ben puts her photo on his map.
	var album struct{ ID int64 }
	if code := jsonDo(t, anna, "POST", base+"/api/albums", `{"name":"Trip"}`, &album); code != 201 {
		t.Fatalf("album: %d", code)
	}
	au := base + "/api/albums/" + strconv.FormatInt(album.ID, 10)
	if code := jsonDo(t, anna, "POST", au+"/photos", `{"ids":["`+annas[0]+`"]}`, nil); code != 200 {
		t.Fatalf("album photos: %d", code)
	}
	if code := jsonDo(t, anna, "POST", au+"/members", `{"user":"ben","role":"viewer"}`, nil); code != 200 {
		t.Fatalf("album members: %d", code)
	}
	if ids := mapIDs(t, ben, base); !slices.Equal(ids, sorted(annas[0], bens[0])) {
		t.Fatalf("ben's map with anna's album: %v", ids)
	}

	for _, show := range []bool{false, true} {
		var sh struct{ URL string }
		body := `{"ids":["` + annas[0] + `"],"show_metadata":` + map[bool]string{false: "false", true: "true"}[show] + `}`
		if code := jsonDo(t, anna, "POST", base+"/api/shares", body, &sh); code != 201 {
			t.Fatalf("share: %d", code)
		}
		visitor := client(t)
		do(t, visitor, "GET", base+sh.URL, nil)
		resp, page := do(t, visitor, "GET", base+sh.URL+"/p/"+annas[0], nil)
		if resp.StatusCode != 200 {
			t.Fatalf("shared photo page: %d", resp.StatusCode)
		}
		if named := strings.Contains(page, "Lisbon, Lisbon, Portugal"); named != show {
			t.Errorf("show_metadata %v: place named %v", show, named)
		}
		if strings.Contains(page, "Portugal") && !show {
			t.Error("a link without metadata names the country")
		}
		if resp, _ := do(t, visitor, "GET", base+"/api/map", nil); resp.StatusCode == 200 {
			t.Error("a link's visitor reads the map")
		}
	}
}
