package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/library"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
	"shoebox/internal/web"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type site struct {
	db    *database.DB
	st    *storage.Storage
	store thumbs.Store
	srv   *httptest.Server
	ids   []string // newest first
}

// newSite indexes n synthetic photos straight through storage (the indexer
// has its own tests) and serves them.
func newSite(t testing.TB, n int, budget int, name func(i int) string) *site {
	t.Helper()
	return newSiteIn(t, n, budget, name, thumbs.Store{Dir: t.TempDir()})
}

// newSiteIn is newSite with its media in store.
func newSiteIn(t testing.TB, n int, budget int, name func(i int) string, store thumbs.Store) *site {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: dbtest.NewDatabase(t), MaxConns: budget, AcquireTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s := &site{db: db, st: storage.New(db), store: store}
	lib, err := s.st.EnsureLibrary(ctx, "/photos")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	var files []storage.ScannedFile
	for i := 0; i < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprint("photo", i)))
		id := library.PhotoID(sum[:])
		files = append(files, storage.ScannedFile{RelPath: name(i), Size: 1000, MTime: base, PhotoID: id, Hash: sum[:]})
	}
	if _, err := s.st.SaveScanned(ctx, lib, files); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		err := s.st.SavePhotoResult(ctx, f.PhotoID, storage.PhotoResult{Format: "jpeg", Width: 4000, Height: 3000,
			ThumbWidth: 250, ThumbHeight: 188, TakenAt: base.Add(time.Duration(i) * time.Hour),
			Make: "Canon", Model: fmt.Sprintf("EOS %dD", i%3), Placeholder: placeholder})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.store.Write(f.PhotoID, thumbs.Thumb, []byte("webp-bytes-"+f.PhotoID)); err != nil {
			t.Fatal(err)
		}
		s.ids = append([]string{f.PhotoID}, s.ids...)
	}
	h, err := web.New(db, s.st, s.store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(h.Handler())
	t.Cleanup(s.srv.Close)
	return s
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// photoPage decodes an API photo list, failing on anything else (an error
// body has no "photos": it must not pass for an empty result).
func photoPage(t *testing.T, body string) (page struct {
	Photos []map[string]any `json:"photos"`
	Next   *string          `json:"next"`
}) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), &page); err != nil || page.Photos == nil {
		t.Fatalf("not a photo list (%v): %.200s", err, body)
	}
	return page
}

func plainName(i int) string { return fmt.Sprintf("2019/trip/img_%03d.jpg", i) }

func TestGalleryPagesNewestFirst(t *testing.T) {
	s := newSite(t, 120, 4, plainName)
	resp, body := get(t, s.srv.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("gallery: %d", resp.StatusCode)
	}
	if n := strings.Count(body, `<img src="/thumbnail/`); n != 50 {
		t.Fatalf("%d thumbnails on the first page, want 50", n)
	}
	if !strings.Contains(body, `<img src="/thumbnail/`+s.ids[0]) || strings.Contains(body, s.ids[50]) {
		t.Fatal("first page is not the 50 newest")
	}
	for _, attr := range []string{`loading="lazy"`, `width="250"`, `height="188"`, `href="/photo/` + s.ids[0] + `"`, "background-image:url(data:image/png;base64,"} {
		if !strings.Contains(body, attr) {
			t.Fatalf("gallery lacks %s", attr)
		}
	}
	// Follow the keyset cursor through every page: each photo exactly once.
	seen := map[string]bool{}
	next := "/api/photos?limit=50"
	for next != "" {
		resp, body := get(t, s.srv.URL+next)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", next, resp.StatusCode)
		}
		page := photoPage(t, body)
		for _, p := range page.Photos {
			for _, k := range []string{"id", "path", "thumbnail_url", "taken_at", "width", "height"} {
				if _, ok := p[k]; !ok {
					t.Fatalf("api photo lacks %q: %v", k, p)
				}
			}
			id := p["id"].(string)
			if seen[id] {
				t.Fatalf("photo %s on two pages", id)
			}
			seen[id] = true
		}
		next = ""
		if page.Next != nil {
			next = "/api/photos?limit=50&cursor=" + *page.Next
		}
	}
	if len(seen) != 120 {
		t.Fatalf("pagination gave %d photos, want 120", len(seen))
	}
}

func TestSearchByPathCameraAndYear(t *testing.T) {
	s := newSite(t, 30, 4, func(i int) string {
		if i < 5 {
			return fmt.Sprintf("beach/sand_%d.jpg", i)
		}
		return plainName(i)
	})
	for q, want := range map[string]int{"beach": 5, "2019": 30, "canon": 30, "EOS 1D": 10, "beach canon": 5, "nothing-like-this": 0, "100%_": 0} {
		resp, body := get(t, s.srv.URL+"/api/search?limit=100&q="+url.QueryEscape(q))
		if resp.StatusCode != 200 {
			t.Fatalf("search %q: %d %s", q, resp.StatusCode, body)
		}
		page := photoPage(t, body)
		if len(page.Photos) != want {
			t.Errorf("search %q: %d photos, want %d", q, len(page.Photos), want)
		}
	}
	resp, body := get(t, s.srv.URL+"/search?q=beach")
	if resp.StatusCode != 200 || strings.Count(body, `<img src="/thumbnail/`) != 5 {
		t.Fatalf("html search: %d", resp.StatusCode)
	}
}

func TestHostileNamesAndQueriesAreEscaped(t *testing.T) {
	evil := `<script>alert(1)</script>"'&.jpg`
	s := newSite(t, 3, 4, func(i int) string { return fmt.Sprintf("x%d/%s", i, evil) })
	for _, path := range []string{"/", "/search?q=script", "/photo/" + s.ids[0], "/search?q=%3Cscript%3E"} {
		resp, body := get(t, s.srv.URL+path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if strings.Contains(body, "<script>") {
			t.Fatalf("%s: markup from a file name or query reached the page unescaped", path)
		}
	}
	for _, q := range []string{"/search?q=%00", "/search?q=%27;DROP+TABLE+photos;--", "/search?q=" + strings.Repeat("a", 10000),
		"/?cursor=garbage", "/api/photos?limit=-1", "/api/photos?limit=abc", "/api/photos?cursor=%ff%fe", "/photo/..%2F..%2Fetc", "/thumbnail/../../etc/passwd"} {
		resp, _ := get(t, s.srv.URL+q)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s: %d", q, resp.StatusCode)
		}
	}
	if resp, _ := get(t, s.srv.URL+"/api/stats"); resp.StatusCode != 200 {
		t.Fatal("photos table damaged?")
	}
}

// Image requests run no SQL: they answer with the pool fully taken.
// Page requests then answer 503 with Retry-After at their deadline.
func TestBudgetExhaustedThumbnailsStillServeAndPagesShed(t *testing.T) {
	s := newSite(t, 3, 2, plainName)
	ctx := context.Background()
	c1, err := s.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := s.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, s.srv.URL+"/thumbnail/"+s.ids[0])
	if resp.StatusCode != 200 || body != "webp-bytes-"+s.ids[0] || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("ETag") == "" {
		t.Fatalf("thumbnail with no connection free: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	req, _ := http.NewRequest("GET", s.srv.URL+"/thumbnail/"+s.ids[0], nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional thumbnail: %v %v", r2, err)
	}
	for _, path := range []string{"/", "/api/photos", "/api/stats", "/search?q=x"} {
		resp, _ := get(t, s.srv.URL+path)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s with the budget spent: %d Retry-After %q, want 503 with Retry-After", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	c1.Release()
	c2.Release()
	if resp, _ := get(t, s.srv.URL+"/"); resp.StatusCode != 200 {
		t.Fatalf("after release: %d", resp.StatusCode)
	}
	_, metrics := get(t, s.srv.URL+"/metrics")
	if !strings.Contains(metrics, "shoebox_db_acquire_timeouts_total 4") || !strings.Contains(metrics, "shoebox_db_max_conns 2") {
		t.Fatalf("metrics do not show the shed requests:\n%s", metrics)
	}
}

func TestStatsAndHealth(t *testing.T) {
	s := newSite(t, 7, 4, plainName)
	resp, body := get(t, s.srv.URL+"/api/stats")
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	var st struct {
		Photos  int            `json:"photos"`
		Bytes   int64          `json:"bytes"`
		ByYear  map[string]int `json:"by_year"`
		Cameras []any          `json:"cameras"`
		Queue   struct{ Pending, Failed *int }
		DB      map[string]float64 `json:"db"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Photos != 7 || st.Bytes != 7000 || st.ByYear["2019"] != 7 || len(st.Cameras) != 3 || st.Queue.Pending == nil || st.Queue.Failed == nil {
		t.Fatalf("stats: %s", body)
	}
	for _, k := range []string{"max_conns", "acquired_conns", "idle_conns", "total_conns", "empty_acquire_count", "acquire_wait_ms"} {
		if _, ok := st.DB[k]; !ok {
			t.Fatalf("db stats lack %s: %s", k, body)
		}
	}
	if resp, _ := get(t, s.srv.URL+"/healthz"); resp.StatusCode != 200 {
		t.Fatal("healthz")
	}
	if resp, _ := get(t, s.srv.URL+"/readyz"); resp.StatusCode != 200 {
		t.Fatal("readyz")
	}
	if resp, body := get(t, s.srv.URL+"/stats"); resp.StatusCode != 200 || !strings.Contains(body, `<td id="photos">7</td>`) {
		t.Fatalf("stats page: %d", resp.StatusCode)
	}
}

// BenchmarkGallery measures one gallery page (query + render) end to end.
func BenchmarkGallery(b *testing.B) {
	s := newSite(b, 60, 8, plainName) // b, so its cleanups run
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := http.Get(s.srv.URL + "/")
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// placeholder is a real thumbhash placeholder, the size pages carry.
const placeholder = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAEfUlEQVR42lxWCZbkuAoEhPvg/zD/EHOxKkss8wIk2z16Lnem2xkBwar//P9/RJRJmZmB4/WHe/SDdE8zX8vu3/nzO39/7t/feU8ziwimZOKRKRFpFveNF35+7zmnmesYA9jgyGCmupjqziksIckcRJxJfuXlYRbqGclMEUFJQiRNkOnjHJExJFVVqVxISrwRCdtHDNifkVR+5BghMpiFiCmFWYbY0iLIJmD3ZDbY4WEOGGbSP3+uIqAj0pYF/+xHFJlusS5XvURURIdel9qyIghO4ggyS5FFBAL3KB/5EFQYCA5kGb7vRUtRRl0Wl5qOS/W6rjUvELhD2UgOz2UhIplkFm4II70ebCfa5CLIUg2PqIQiN5/qQ3VA13Vdvpa7ZwTQzXNMp0K/rrV0DJXMepfpoTjpdAgouR+CQEOGiwzhAZWGqUapQe45VhAtc1etAOMwC6vqIAQOt/KByn7a+vRzJAA50kmQYLjwaxE36yQOgocB5MrEAsOlY8gmwON6KDBeHolAwPCEyyWkWeUC/peJUAidQnLY80mXdB3Sif8h6FMQJzAlFJEI0nPsq9Ia74cEt+ENXiLUFVEefAgqpIUPo5GjJRWFMGfpAmn+uupUXZYUTG1Xdm3p6Bh09baZ5R5zVQN3HZAEpAshLntemvOhPhWOvJcwwwN+esNOpNaP0Y/gClFkgFiEs9IDihSuiFBd2V+Pejg6Rmh0FvE+XwJnZ0YJcV2VXjJEAhxDxAFKMmhUO2lEXDgDhX5pEumQdgw2dbZCEw6ggwNa8a4QkWxjo2zPY/hjOxgKHcf+ODFr6Ud8okXECC+fmHcl7GQJ3qb03+P4UX6LAxdAYI5mVxCNvLNBkgKGQovKJvRslMGjIz+135q+37gsrU4NV2jXU2V9T4UuLTrFfbL37Saf0ZQ9mbxuHvtR5hNTaKfuDqNlY/Iut6cXva2pW+wz9dzdcHwtjCBb9dX3qRzHaYINhqkh0rV2RsJ5cxfmAw24tdaaPpfbirl8zjUnntmyPm6ubs6771CO7jf8nTzxqtHo6PUbfa17WnOs5fdt9z1vDOM1p63VBB685XjD3SafuZ+1AXyYmmPZnAas2yY++5zYCuY97/ZlVvf2cIY2uy1XNRwPEL7dFTd6x9TdWiVIBKi70EEA/Nng8MDLA+GTN+jVe3xuUK+e+7bo1ip7rCPCZo21imCVMufAGMXrks8s48i/CKKa3deJ15uisXbljWt518mL19TcOfg0rF6BqDeJndb7M7U+D4efFe3o9oLGm+Kka1mVflQHQynn68EZ/dgbMBobIN7AtIA7VGdX6NreC5yutbrmWBzNt4ZS1FCKHjg90WruYxcp9w9TfHCfEfutZNI51/5WU6PD3T/bntYqh4lcBOZvY+jlb1f42RAedEH/AsE8Hgh/xvI27ewQPfodgfXjwZMF24fT9ZgxWxFYJlIz+3Trt8oefXpDYYITmyBe+/OBPvhncZaaVFKVjD06u8SeTtcbQ63medoz1w7wUZzoAf9vE96u5L8BAAD//5OkfQGnNTGTAAAAAElFTkSuQmCC"

// Without a model, search still works on words, and says in plain words
// how to get search by meaning; named filters work too.
func TestSearchWithoutModel(t *testing.T) {
	s := newSite(t, 10, 4, func(i int) string {
		if i < 3 {
			return fmt.Sprintf("beach/dog_%d.jpg", i)
		}
		return plainName(i)
	})
	resp, body := get(t, s.srv.URL+"/search?q=dog")
	if resp.StatusCode != 200 || !strings.Contains(body, "needs a CLIP model") || !strings.Contains(body, "SHOEBOX_CLIP_MODEL") {
		t.Fatalf("no-model notice missing: %d", resp.StatusCode)
	}
	if n := strings.Count(body, `<img src="/thumbnail/`); n != 3 {
		t.Fatalf("word search without a model: %d results, want 3", n)
	}
	for q, want := range map[string]int{"year:2019": 10, "year:2018": 0, "folder:beach": 3, "camera:canon": 10, "tag:dog": 0} {
		_, body := get(t, s.srv.URL+"/api/search?limit=100&q="+url.QueryEscape(q))
		page := photoPage(t, body)
		if len(page.Photos) != want {
			t.Errorf("search %q: %d photos, want %d", q, len(page.Photos), want)
		}
	}
	if resp, body := get(t, s.srv.URL+"/duplicates"); resp.StatusCode != 200 || !strings.Contains(body, "needs a CLIP model") {
		t.Fatalf("duplicates without a model: %d", resp.StatusCode)
	}
}

// A cursor is refused unless it is one Shoebox writes for that list: an
// offset ("o…") on a list by date was once accepted and ignored (the first
// page again), and an extreme keyset time wrapped around when encoded.
func TestCursorsAreCheckedNotIgnored(t *testing.T) {
	s := newSite(t, 6, 4, plainName)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	id := s.ids[0]
	for _, c := range []string{"o2", "o0", "o-1", "o1001", "o+5", "o05", "o99999999999999999999",
		enc("-9223372036854775808 " + id), enc("-210866803200000001 " + id), enc("1 x"), enc("0 \x00"), "garbage"} {
		for _, path := range []string{"/api/photos", "/api/search", "/", "/search"} {
			resp, body := get(t, s.srv.URL+path+"?q=2019&cursor="+url.QueryEscape(c))
			if resp.StatusCode != 400 {
				t.Errorf("%s cursor %q: %d, want 400: %.100s", path, c, resp.StatusCode, body)
			}
		}
	}
	// What Shoebox writes still pages, from the far past and future too.
	page := photoPage(t, get2(t, s.srv.URL+"/api/photos?limit=2"))
	if page.Next == nil {
		t.Fatal("no next cursor after 2 of 6")
	}
	next := photoPage(t, get2(t, s.srv.URL+"/api/photos?limit=10&cursor="+url.QueryEscape(*page.Next)))
	if len(next.Photos) != 4 || next.Photos[0]["id"] != s.ids[2] {
		t.Fatalf("page after the cursor: %d photos", len(next.Photos))
	}
	for c, want := range map[string]int{enc("9223372036854775807 " + id): 6, enc("-210866803200000000 " + id): 0} {
		if got := photoPage(t, get2(t, s.srv.URL+"/api/photos?cursor="+c)); len(got.Photos) != want {
			t.Errorf("cursor %q: %d photos, want %d", c, len(got.Photos), want)
		}
	}
}

// get2 is get that wants a 200 and returns the body.
func get2(t *testing.T, url string) string {
	t.Helper()
	resp, body := get(t, url)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %.200s", url, resp.StatusCode, body)
	}
	return body
}
