package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"shoebox/internal/objstore"
	"shoebox/internal/objstore/s3test"
	"shoebox/internal/thumbs"
	"shoebox/internal/web"
)

// getCounter counts the GET and HEAD requests that reach the store.
type getCounter struct {
	next      http.RoundTripper
	mu        sync.Mutex
	gets, hds map[string]int // by path
}

func (c *getCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	switch r.Method {
	case "GET":
		c.gets[r.URL.Path]++
	case "HEAD":
		c.hds[r.URL.Path]++
	}
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *getCounter) count(method, suffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.gets
	if method == "HEAD" {
		m = c.hds
	}
	n := 0
	for p, k := range m {
		if strings.HasSuffix(p, suffix) {
			n += k
		}
	}
	return n
}

// TestMediaFromS3 serves thumbnails, previews and a video conversion kept
// on a real S3 server (SeaweedFS), written by another process (a worker
// with its own cache): through the web process's local cache, with every
// database connection held (zero SQL), one GET to the store for many
// concurrent requests, and on from the cache once the store is stopped.
func TestMediaFromS3(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	openStore := func(tr http.RoundTripper, now func() time.Time) thumbs.Store {
		o := srv.Options("web")
		o.Transport = tr
		b, err := objstore.OpenS3(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		c, err := objstore.NewCache(b, objstore.CacheOptions{Dir: t.TempDir(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return thumbs.Remote(c)
	}
	// The worker: indexes and writes the thumbnails (newSiteIn).
	s := newSiteIn(t, 4, 2, plainName, openStore(nil, nil))
	preview := strings.Repeat("jpeg", 5000)
	for _, id := range s.ids {
		if err := s.store.Write(id, thumbs.Preview, []byte(preview+id)); err != nil {
			t.Fatal(err)
		}
	}
	vid := s.ids[3]
	orig := filepath.Join(t.TempDir(), "clip.mkv")
	os.WriteFile(orig, []byte("not really a video"), 0o600)
	if err := s.store.WriteSource(vid, orig, &thumbs.Video{Playable: false, MIME: "video/x-matroska"}); err != nil {
		t.Fatal(err)
	}
	conv := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	if err := s.store.Write(vid, thumbs.Transcode, conv); err != nil {
		t.Fatal(err)
	}

	// The web process: another cache, counted, on a clock of its own.
	count := &getCounter{next: http.DefaultTransport.(*http.Transport).Clone(), gets: map[string]int{}, hds: map[string]int{}}
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h, err := web.New(s.db, s.st, openStore(count, clock), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(h.Handler())
	defer ws.Close()

	// Zero SQL: every connection of the budget is held throughout.
	var held []*pgxpool.Conn
	for range 2 {
		c, err := s.db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()

	// 32 concurrent requests for each of two uncached thumbnails: one GET each.
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for _, id := range s.ids[:2] {
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(ws.URL + "/thumbnail/" + id)
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(b) != "webp-bytes-"+id {
					errs <- fmt.Errorf("thumbnail %s: %d %q", id, resp.StatusCode, b)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, id := range s.ids[:2] {
		if n := count.count("GET", id+".thumb.webp"); n != 1 {
			t.Fatalf("32 concurrent requests for thumbnail %s: %d GETs to the store, want 1", id, n)
		}
	}

	// HTTP caching works as from a folder: ETag, 304, immutable.
	resp, body := get(t, ws.URL+"/preview/"+s.ids[0])
	if resp.StatusCode != 200 || body != preview+s.ids[0] || resp.Header.Get("ETag") == "" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("preview: %d %d bytes %v", resp.StatusCode, len(body), resp.Header)
	}
	req, _ := http.NewRequest("GET", ws.URL+"/preview/"+s.ids[0], nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r2, err := http.DefaultClient.Do(req); err != nil || r2.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional preview: %v %v", r2, err)
	}
	// Range on the conversion, served from the cached copy.
	req, _ = http.NewRequest("GET", ws.URL+"/video/"+vid, nil)
	req.Header.Set("Range", "bytes=10-19")
	r3, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	if r3.StatusCode != http.StatusPartialContent || string(part) != string(conv[10:20]) {
		t.Fatalf("range of the conversion: %d %q", r3.StatusCode, part)
	}
	// Not made: 404, not cached by the browser.
	if resp, _ := get(t, ws.URL+"/preview/"+strings.Repeat("0", 20)); resp.StatusCode != 404 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("missing preview: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	// Rewritten by the worker (a re-processed photo): the web process
	// serves the copy it has (memory and disk) until the TTL is up, then
	// the new bytes.
	if err := s.store.Write(s.ids[1], thumbs.Thumb, []byte("rewritten")); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, ws.URL+"/thumbnail/"+s.ids[1]); body != "webp-bytes-"+s.ids[1] {
		t.Fatalf("within the TTL: %q", body)
	}
	mu.Lock()
	now = now.Add(objstore.DefaultCacheTTL)
	mu.Unlock()
	if _, body := get(t, ws.URL+"/thumbnail/"+s.ids[1]); body != "rewritten" {
		t.Fatalf("after the TTL: %q, want the rewritten thumbnail", body)
	}

	// The store stops: what was fetched is still served, even past the
	// TTL (the store cannot say it changed); what never was is 503.
	srv.Stop()
	defer srv.Restart(t)
	mu.Lock()
	now = now.Add(10 * objstore.DefaultCacheTTL)
	mu.Unlock()
	for range 3 {
		for _, path := range []string{"/thumbnail/" + s.ids[0], "/thumbnail/" + s.ids[1], "/preview/" + s.ids[0]} {
			if resp, _ := get(t, ws.URL+path); resp.StatusCode != 200 {
				t.Fatalf("%s with the store stopped: %d", path, resp.StatusCode)
			}
		}
	}
	if resp, _ := get(t, ws.URL+"/preview/"+s.ids[2]); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("uncached preview with the store stopped: %d", resp.StatusCode)
	}
}
