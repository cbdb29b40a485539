package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/storage"
)

// addTaken indexes one more photo of the site's library taken at the wall
// clock t.
func (s *site) addTaken(t *testing.T, name string, taken time.Time) string {
	t.Helper()
	ctx := context.Background()
	sum := sha256.Sum256([]byte(name))
	id := library.PhotoID(sum[:])
	lib, err := s.st.EnsureLibrary(ctx, "/photos")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.SaveScanned(ctx, lib, []storage.ScannedFile{{RelPath: name, Size: 1000, MTime: taken, PhotoID: id, Hash: sum[:]}}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.SavePhotoResult(ctx, id, storage.PhotoResult{Format: "jpeg", Width: 400, Height: 300,
		ThumbWidth: 250, ThumbHeight: 188, TakenAt: taken}); err != nil {
		t.Fatal(err)
	}
	return id
}

// GET /api/timeline: the months and their counts, newest first, by the
// wall clock where each photo was taken.
func TestAPITimeline(t *testing.T) {
	s := newSite(t, 3, 4, plainName) // 1 June 2019, 12:00 to 14:00
	s.addTaken(t, "dec.jpg", time.Date(2018, 12, 31, 23, 30, 0, 0, time.FixedZone("", -5*3600)))
	s.addTaken(t, "dec2.jpg", time.Date(2018, 12, 1, 0, 0, 0, 0, time.UTC))
	resp, body := get(t, s.srv.URL+"/api/timeline")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/api/timeline: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if want := `{"months":[{"year":2019,"month":6,"count":3},{"year":2018,"month":12,"count":2}]}`; body != want {
		t.Fatalf("/api/timeline: %s, want %s", body, want)
	}
	empty := newSite(t, 0, 4, plainName)
	if _, body := get(t, empty.srv.URL+"/api/timeline"); body != `{"months":[]}` {
		t.Fatalf("/api/timeline of an empty library: %s", body)
	}
}

// ?at=YYYY-MM starts the gallery and /api/photos at the end of that month;
// anything else is a 400 naming the form, never a silent first page.
func TestAtStartsAMonth(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	dec := s.addTaken(t, "dec.jpg", time.Date(2018, 12, 31, 23, 30, 0, 0, time.UTC))
	s.addTaken(t, "jan.jpg", time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC))
	old := s.addTaken(t, "old.jpg", time.Date(2017, 3, 1, 0, 0, 0, 0, time.UTC))

	_, body := get(t, s.srv.URL+"/api/photos?at=2018-12")
	page := photoPage(t, body)
	if len(page.Photos) != 2 || page.Photos[0]["id"] != dec || page.Photos[1]["id"] != old {
		t.Fatalf("/api/photos?at=2018-12: %v, want December's photo then the older one", page.Photos)
	}
	if page.Photos[0]["thumb_width"] != 250.0 || page.Photos[0]["thumb_height"] != 188.0 {
		t.Fatalf("list entries carry the thumbnail's size: %v", page.Photos[0])
	}
	// Paging on from a month: the cursor goes on where the month began.
	_, body = get(t, s.srv.URL+"/api/photos?at=2018-12&limit=1")
	first := photoPage(t, body)
	if first.Next == nil {
		t.Fatal("no next page after one photo of two")
	}
	_, body = get(t, s.srv.URL+"/api/photos?limit=1&cursor="+*first.Next)
	if p := photoPage(t, body); len(p.Photos) != 1 || p.Photos[0]["id"] != old {
		t.Fatalf("the page after December's: %v, want the 2017 photo", p.Photos)
	}

	resp, html := get(t, s.srv.URL+"/?at=2018-12")
	if resp.StatusCode != 200 || !strings.Contains(html, `<h2 class="tl-month">December 2018</h2>`) ||
		strings.Contains(html, `<h2 class="tl-month">June 2019</h2>`) || strings.Index(html, dec) > strings.Index(html, old) {
		t.Fatalf("/?at=2018-12: %d, want December's heading first and no June's:\n%s", resp.StatusCode, html)
	}
	if !strings.Contains(html, `<h3 class="tl-day">Monday 31 December</h3>`) || !strings.Contains(html, `href="/?at=2019-01"`) {
		t.Fatalf("/?at=2018-12: want a day heading and the scrubber's months:\n%s", html)
	}

	for _, bad := range []string{"2019-13", "2019-00", "2019-6", "19-06", "0000-01", "2019-06-01", "2019-06x", "+2019-06", "june", "2019/06", "%00"} {
		for _, path := range []string{"/", "/api/photos", "/search"} {
			resp, body := get(t, s.srv.URL+path+"?at="+bad)
			if resp.StatusCode != 400 || !strings.Contains(body, "YYYY-MM") {
				t.Errorf("%s?at=%s: %d %.80s, want 400 naming YYYY-MM", path, bad, resp.StatusCode, body)
			}
		}
	}
}

// The gallery puts its page under month and day headings; a search stays
// one grid (a ranking has no dates to group by).
func TestGalleryHeadings(t *testing.T) {
	s := newSite(t, 30, 4, plainName) // 1 June 2019 12:00, hourly: 1 and 2 June
	_, html := get(t, s.srv.URL+"/")
	for _, want := range []string{`<h2 class="tl-month">June 2019</h2>`, `<h3 class="tl-day">Sunday 2 June</h3>`,
		`<h3 class="tl-day">Saturday 1 June</h3>`, `data-day="2019-06-02"`, `data-id="` + s.ids[0] + `"`, `timeline.js"`} {
		if !strings.Contains(html, want) {
			t.Errorf("gallery lacks %s", want)
		}
	}
	if strings.Index(html, "Sunday 2 June") > strings.Index(html, "Saturday 1 June") {
		t.Error("days out of order: newest first")
	}
	_, html = get(t, s.srv.URL+"/search?q=trip")
	if strings.Contains(html, "tl-month") || strings.Contains(html, "timeline.js") {
		t.Error("a search page has timeline headings")
	}
	var tl struct{ Months []map[string]int }
	_, body := get(t, s.srv.URL+"/api/timeline")
	if err := json.Unmarshal([]byte(body), &tl); err != nil || len(tl.Months) != 1 || tl.Months[0]["count"] != 30 {
		t.Fatalf("/api/timeline: %s %v", body, err)
	}
}

// /api/timeline is the asker's: their archived photos leave its months at
// once, and with accounts a visitor signed out gets no months at all.
func TestTimelineIsTheAskers(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	dec := s.addTaken(t, "dec.jpg", time.Date(2018, 12, 24, 12, 0, 0, 0, time.UTC))
	if _, body := get(t, s.srv.URL+"/api/timeline"); !strings.Contains(body, `{"year":2018,"month":12,"count":1}`) {
		t.Fatalf("/api/timeline: %s, want December 2018", body)
	}
	if resp, body := send(t, "PATCH", s.srv.URL+"/api/photos/"+dec, "application/json", `{"archived":true}`); resp.StatusCode != 200 {
		t.Fatalf("archive: %d %s", resp.StatusCode, body)
	}
	if _, body := get(t, s.srv.URL+"/api/timeline"); body != `{"months":[{"year":2019,"month":6,"count":3}]}` {
		t.Fatalf("/api/timeline with December's photo archived: %s", body)
	}
	if _, html := get(t, s.srv.URL+"/"); strings.Contains(html, `data-month="2018-12"`) {
		t.Fatal("the gallery's scrubber offers a month whose only photo is archived")
	}

	addUser(t, s, "anna")
	eventually(t, "accounts mode", func() bool {
		resp, _ := do(t, client(t), "GET", s.srv.URL+"/api/timeline", nil)
		return resp.StatusCode == 401
	})
	if resp, body := do(t, client(t), "GET", s.srv.URL+"/api/timeline", nil); resp.StatusCode != 401 || strings.Contains(body, "months") {
		t.Fatalf("signed out: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(t, signIn(t, s, "anna"), "GET", s.srv.URL+"/api/timeline", nil); resp.StatusCode != 200 || !strings.Contains(body, `"months"`) {
		t.Fatalf("signed in: %d %s", resp.StatusCode, body)
	}
}
