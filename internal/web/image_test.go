package web_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shoebox/internal/web"
)

// originals is a server whose store notes one real file as the original of
// a photo, and which counts the rescans it asks for. Every connection of
// the database pool is held while it serves: originals need no SQL.
type originals struct {
	url     string
	id, src string
	rescans chan struct{}
}

func newOriginals(t *testing.T, content []byte) *originals {
	t.Helper()
	s := newSite(t, 1, 2, plainName)
	ctx := context.Background()
	o := &originals{id: s.ids[0], src: filepath.Join(t.TempDir(), "IMG 0001.jpg"), rescans: make(chan struct{}, 10)}
	if err := os.WriteFile(o.src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.store.WriteSource(o.id, o.src, nil); err != nil {
		t.Fatal(err)
	}
	h, err := web.New(s.db, s.st, s.store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	h.OnStaleOriginal(func() { o.rescans <- struct{}{} })
	// Taken once the server has started (it reads its accounts mode at
	// start, as serve does after its migrations).
	for i := 0; i < 2; i++ {
		c, err := s.db.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Release)
	}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	o.url = srv.URL + "/original/" + o.id
	return o
}

func (o *originals) rescansAsked() int { return len(o.rescans) }

// /original serves the file indexed, and nothing else: a file swapped for
// a link, or replaced under the same name, answers 404 and asks for a
// rescan (without waiting for it or the database).
func TestOriginalOnlyTheFileIndexed(t *testing.T) {
	t.Run("unchanged", func(t *testing.T) {
		o := newOriginals(t, []byte("jpeg bytes"))
		resp, body := get(t, o.url)
		if resp.StatusCode != 200 || body != "jpeg bytes" || resp.Header.Get("Content-Type") != "image/jpeg" ||
			resp.Header.Get("Content-Disposition") != "inline; filename*=UTF-8''IMG%200001.jpg" {
			t.Fatalf("original: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		if n := o.rescansAsked(); n != 0 {
			t.Fatalf("%d rescans asked for an unchanged original", n)
		}
	})
	t.Run("swapped for a link to /etc/hostname", func(t *testing.T) {
		o := newOriginals(t, []byte("jpeg bytes"))
		if err := os.Remove(o.src); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/etc/hostname", o.src); err != nil {
			t.Fatal(err)
		}
		host, _ := os.ReadFile("/etc/hostname")
		for i := 0; i < 3; i++ {
			resp, body := get(t, o.url)
			if resp.StatusCode != 404 || (len(host) > 0 && strings.Contains(body, strings.TrimSpace(string(host)))) {
				t.Fatalf("original swapped for a link: %d %q, want 404", resp.StatusCode, body)
			}
		}
		if n := o.rescansAsked(); n != 1 {
			t.Fatalf("%d rescans asked for after 3 requests of a swapped original, want 1 (throttled)", n)
		}
	})
	t.Run("same name, another file", func(t *testing.T) {
		o := newOriginals(t, []byte("jpeg bytes"))
		fi, _ := os.Stat(o.src)
		tmp := o.src + ".tmp"
		if err := os.WriteFile(tmp, []byte("JPEG BYTES"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
		if err := os.Rename(tmp, o.src); err != nil {
			t.Fatal(err)
		}
		if resp, body := get(t, o.url); resp.StatusCode != 404 {
			t.Fatalf("original replaced by another inode: %d %q, want 404", resp.StatusCode, body)
		}
		if n := o.rescansAsked(); n != 1 {
			t.Fatalf("%d rescans asked for, want 1", n)
		}
	})
}

// A Range of many parts is not honoured part by part (thousands of tiny
// parts cost far more than the file): past the cap the whole file comes, as
// for a plain GET. A few parts still work.
func TestOriginalRangePartsCapped(t *testing.T) {
	content := []byte(strings.Repeat("0123456789", 10_000))
	o := newOriginals(t, content)
	ask := func(rng string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", o.url, nil)
		req.Header.Set("Range", rng)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	if resp, b := ask("bytes=10-19"); resp.StatusCode != 206 || string(b) != "0123456789" {
		t.Fatalf("one range: %d %q", resp.StatusCode, b)
	}
	if resp, b := ask("bytes=0-0,20-29"); resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") || len(b) > 1000 {
		t.Fatalf("two ranges: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
	var parts []string
	for i := 0; i < 5000; i++ {
		parts = append(parts, fmt.Sprintf("%d-%d", i*2, i*2))
	}
	resp, b := ask("bytes=" + strings.Join(parts, ","))
	if resp.StatusCode != 200 || len(b) != len(content) {
		t.Fatalf("5,000 ranges: %d with %d bytes, want 200 with the file's %d", resp.StatusCode, len(b), len(content))
	}
	resp, b = ask("bytes=" + strings.Join(parts[:17], ","))
	if resp.StatusCode != 200 || len(b) != len(content) {
		t.Fatalf("17 ranges: %d with %d bytes, want 200 with the whole file", resp.StatusCode, len(b))
	}
}

// If-None-Match gets 304 only for a thumbnail that exists: an id that
// does not gets 404 whatever the tag.
func TestIfNoneMatchNeedsTheImage(t *testing.T) {
	s := newSite(t, 1, 4, plainName)
	cond := func(path, tag string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", s.srv.URL+path, nil)
		req.Header.Set("If-None-Match", tag)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const unknown = "AbCdEfGhIjKlMnOpQrSt"
	for _, tag := range []string{`"` + unknown + `-t"`, "*"} {
		if code := cond("/thumbnail/"+unknown, tag); code != 404 {
			t.Errorf("thumbnail of an unknown id with If-None-Match %s: %d, want 404", tag, code)
		}
		if code := cond("/preview/"+unknown, tag); code != 404 {
			t.Errorf("preview of an unknown id with If-None-Match %s: %d, want 404", tag, code)
		}
	}
	id := s.ids[0]
	for i := 0; i < 2; i++ { // from disk, then from the cache
		if code := cond("/thumbnail/"+id, `"`+id+`-t"`); code != 304 {
			t.Errorf("thumbnail with its tag (round %d): %d, want 304", i, code)
		}
		if code := cond("/thumbnail/"+id, `"`+id+`-p"`); code != 200 {
			t.Errorf("thumbnail with another tag (round %d): %d, want 200", i, code)
		}
	}
}

// Request headers are bounded: 100 kB of them get 431, not a server
// reading and keeping them.
func TestHugeHeaderRefused(t *testing.T) {
	s := newSite(t, 1, 4, plainName)
	h, err := web.New(s.db, s.st, s.store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- h.Serve(ctx, "127.0.0.1:0", func(a string) { addrc <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	addr := <-addrc
	status := func(extra int) int {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		go fmt.Fprintf(c, "GET /thumbnail/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: %s\r\n\r\n", s.ids[0], strings.Repeat("a", extra))
		c.SetDeadline(time.Now().Add(time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := status(1000); code != 200 {
		t.Fatalf("1 kB header: %d", code)
	}
	if code := status(100 << 10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("100 kB header: %d, want 431", code)
	}
}
