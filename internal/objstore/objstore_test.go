package objstore_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"shoebox/internal/objstore"
	"shoebox/internal/objstore/s3test"
)

var minioStat = minio.StatObjectOptions{}

// counter counts the requests that reach the store, by method, for keys
// containing a marker (the test's prefix).
type counter struct {
	next   http.RoundTripper
	marker string
	mu     sync.Mutex
	n      map[string]int
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, c.marker) {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[r.Method]++
		c.mu.Unlock()
	}
	return c.next.RoundTrip(r)
}

func (c *counter) get(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

func (c *counter) reset() {
	c.mu.Lock()
	c.n = nil
	c.mu.Unlock()
}

// clock is a time the test moves by hand: no test here waits for a TTL.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rig is one test's view of the server: a bucket under its own prefix, a
// counted client, and a cache over it.
type rig struct {
	srv   *s3test.Server
	b     *objstore.S3
	count *counter
	clock *clock
	cache *objstore.Cache
	dir   string
}

func newRig(t *testing.T, srv *s3test.Server, prefix string, o objstore.CacheOptions) *rig {
	t.Helper()
	count := &counter{next: http.DefaultTransport.(*http.Transport).Clone(), marker: "/" + prefix + "/"}
	opts := srv.Options(prefix)
	opts.Transport = count
	b, err := objstore.OpenS3(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{srv: srv, b: b, count: count, clock: &clock{t: time.Unix(1_700_000_000, 0)}, dir: t.TempDir()}
	o.Dir, o.Now = r.dir, r.clock.now
	if r.cache, err = objstore.NewCache(b, o); err != nil {
		t.Fatal(err)
	}
	return r
}

// put writes an object behind the cache's back, as another process would.
func (r *rig) put(t *testing.T, key, body string) {
	t.Helper()
	if _, err := r.b.Put(context.Background(), key, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) read(t *testing.T, key string) (string, error) {
	t.Helper()
	f, _, err := r.cache.Open(context.Background(), key)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

func (r *rig) mustRead(t *testing.T, key, want string) {
	t.Helper()
	got, err := r.read(t, key)
	if err != nil || got != want {
		t.Fatalf("read %s: %q, %v; want %q", key, got, err, want)
	}
}

// TestS3 runs against one real SeaweedFS (started once: it takes seconds);
// each part works under its own prefix. The part that stops the server
// comes last.
func TestS3(t *testing.T) {
	srv := s3test.Start(t)

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := context.Background()
		b, err := objstore.OpenS3(ctx, srv.Options("roundtrip"))
		if err != nil {
			t.Fatal(err)
		}
		body := strings.Repeat("thumbnail ", 1000)
		info, err := b.Put(ctx, "ab/abc.thumb.webp", strings.NewReader(body), int64(len(body)))
		if err != nil || info.ETag == "" {
			t.Fatalf("put: %+v, %v", info, err)
		}
		st, err := b.Stat(ctx, "ab/abc.thumb.webp")
		if err != nil || st.Size != int64(len(body)) || st.ETag != info.ETag {
			t.Fatalf("stat: %+v, %v; put said %+v", st, err, info)
		}
		rc, gi, err := b.Get(ctx, "ab/abc.thumb.webp")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != body || gi.ETag != info.ETag {
			t.Fatalf("get: %d bytes, etag %q", len(got), gi.ETag)
		}
		// Under the prefix, as another client sees it.
		c, _ := srv.Client()
		if _, err := c.StatObject(ctx, srv.Bucket, "roundtrip/ab/abc.thumb.webp", minioStat); err != nil {
			t.Fatalf("not under the prefix: %v", err)
		}
		if err := b.Check(ctx); err != nil {
			t.Fatalf("check: %v", err)
		}
		if err := b.Remove(ctx, "ab/abc.thumb.webp"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Stat(ctx, "ab/abc.thumb.webp"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("stat after remove: %v", err)
		}
		if _, _, err := b.Get(ctx, "ab/abc.thumb.webp"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("get after remove: %v", err)
		}
	})

	// What upload libraries on S3 need: Create never over another object,
	// List under a prefix (in order, keys relative to the bucket's prefix),
	// Open reads anywhere in one version only, URL names a key.
	t.Run("Objects", func(t *testing.T) {
		ctx := context.Background()
		b, err := objstore.OpenS3(ctx, srv.Options("objects"))
		if err != nil {
			t.Fatal(err)
		}
		body := "0123456789abcdefghij"
		info, err := b.Create(ctx, "up/a/2024/05/x.jpg", strings.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if _, err := b.Create(ctx, "up/a/2024/05/x.jpg", strings.NewReader("other"), 5); !errors.Is(err, objstore.ErrExists) {
			t.Fatalf("create over an object: %v, want ErrExists", err)
		}
		b.Put(ctx, "up/a/2024/05/y.jpg", strings.NewReader("y"), 1)
		b.Put(ctx, "up/ab/z.jpg", strings.NewReader("z"), 1) // not under "up/a/"
		var keys []string
		err = b.List(ctx, "up/a/", func(o objstore.Object) error {
			keys = append(keys, o.Key)
			if o.Key == "up/a/2024/05/x.jpg" && (o.Size != int64(len(body)) || o.ETag != info.ETag || o.Modified.IsZero()) {
				t.Errorf("listed %+v, created %+v", o, info)
			}
			return nil
		})
		if err != nil || strings.Join(keys, " ") != "up/a/2024/05/x.jpg up/a/2024/05/y.jpg" {
			t.Fatalf("list: %q %v", keys, err)
		}
		st, _ := b.Stat(ctx, "up/a/2024/05/x.jpg")
		if !st.Modified.Equal(info.Modified) && !info.Modified.IsZero() {
			t.Errorf("stat says modified %v, create %v", st.Modified, info.Modified)
		}
		r, _, err := b.Open(ctx, "up/a/2024/05/x.jpg", info.ETag)
		if err != nil {
			t.Fatal(err)
		}
		r.Seek(10, io.SeekStart)
		if got, _ := io.ReadAll(r); string(got) != "abcdefghij" {
			t.Fatalf("read from 10: %q", got)
		}
		r.Close()
		b.Put(ctx, "up/a/2024/05/x.jpg", strings.NewReader("rewritten"), 9)
		if _, _, err := b.Open(ctx, "up/a/2024/05/x.jpg", info.ETag); !errors.Is(err, objstore.ErrChanged) {
			t.Fatalf("open a rewritten object: %v, want ErrChanged", err)
		}
		if _, _, err := b.Open(ctx, "up/a/nothing.jpg", ""); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("open none: %v", err)
		}
		if u := b.URL("up/a"); u != "s3://"+srv.Bucket+"/objects/up/a" {
			t.Fatalf("url %s", u)
		}
	})

	t.Run("BadSettings", func(t *testing.T) {
		ctx := context.Background()
		o := srv.Options("x")
		o.SecretKey = "wrong"
		if _, err := objstore.OpenS3(ctx, o); err == nil || !strings.Contains(err.Error(), "credentials refused") {
			t.Errorf("wrong secret: %v", err)
		}
		o = srv.Options("x")
		o.Bucket = "no-such-bucket"
		if _, err := objstore.OpenS3(ctx, o); err == nil || !strings.Contains(err.Error(), "no such bucket") {
			t.Errorf("missing bucket: %v", err)
		}
		o = srv.Options("x")
		o.Bucket = ""
		if _, err := objstore.OpenS3(ctx, o); err == nil {
			t.Error("no bucket: no error")
		}
	})

	t.Run("FetchedOnce", func(t *testing.T) {
		r := newRig(t, srv, "once", objstore.CacheOptions{})
		r.put(t, "ab/one.thumb.webp", "the thumbnail")
		r.count.reset()
		var wg sync.WaitGroup
		var bad atomic.Int32
		start := make(chan struct{})
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				f, _, err := r.cache.Open(context.Background(), "ab/one.thumb.webp")
				if err != nil {
					bad.Add(1)
					return
				}
				b, _ := io.ReadAll(f)
				f.Close()
				if string(b) != "the thumbnail" {
					bad.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if bad.Load() != 0 {
			t.Fatalf("%d requests failed", bad.Load())
		}
		if g, h := r.count.get("GET"), r.count.get("HEAD"); g != 1 || h != 0 {
			t.Fatalf("64 concurrent requests for an uncached object: %d GET, %d HEAD to the store; want 1 GET", g, h)
		}
		// And later ones, within the TTL, ask nothing.
		for range 10 {
			r.mustRead(t, "ab/one.thumb.webp", "the thumbnail")
		}
		if n := r.count.get("GET") + r.count.get("HEAD"); n != 1 {
			t.Fatalf("cached reads asked the store: %d requests in all", n)
		}

		// A missing object is remembered for MissTTL: one GET, then none.
		r.count.reset()
		for range 20 {
			if _, err := r.read(t, "ab/none.thumb.webp"); !errors.Is(err, objstore.ErrNotFound) {
				t.Fatalf("missing: %v", err)
			}
		}
		if n := r.count.get("GET"); n != 1 {
			t.Fatalf("missing object asked for %d times; want 1", n)
		}
		r.put(t, "ab/none.thumb.webp", "made at last")
		r.clock.add(objstore.DefaultMissTTL - time.Millisecond)
		if _, err := r.read(t, "ab/none.thumb.webp"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("within MissTTL: %v", err)
		}
		r.clock.add(time.Millisecond)
		r.mustRead(t, "ab/none.thumb.webp", "made at last")
	})

	t.Run("Bound", func(t *testing.T) {
		const max = 10_000
		r := newRig(t, srv, "bound", objstore.CacheOptions{MaxBytes: max})
		body := strings.Repeat("x", 3000)
		keys := []string{"aa/1", "aa/2", "aa/3", "aa/4", "aa/5", "aa/6", "aa/7", "aa/8"}
		for _, k := range keys {
			r.put(t, k, body)
		}
		for _, k := range keys {
			r.mustRead(t, k, body)
			if u := r.cache.Used(); u > max {
				t.Fatalf("after %s the cache holds %d bytes; bound %d", k, u, max)
			}
			if d := diskBytes(t, r.dir); d > max {
				t.Fatalf("after %s the cache folder holds %d bytes; bound %d", k, d, max)
			}
		}
		// The three most recent are kept (9000 bytes), the oldest went.
		r.count.reset()
		for _, k := range keys[5:] {
			r.mustRead(t, k, body)
		}
		if n := r.count.get("GET"); n != 0 {
			t.Fatalf("recent objects fetched again: %d GETs", n)
		}
		r.mustRead(t, keys[0], body)
		if n := r.count.get("GET"); n != 1 {
			t.Fatalf("evicted object: %d GETs, want 1", n)
		}
		// An object bigger than the whole bound is served, not kept.
		big := strings.Repeat("y", max+1)
		r.put(t, "aa/big", big)
		r.mustRead(t, "aa/big", big)
		if u := r.cache.Used(); u > max {
			t.Fatalf("a too-big object kept: %d bytes", u)
		}
	})

	t.Run("Staleness", func(t *testing.T) {
		const ttl = time.Minute
		r := newRig(t, srv, "stale", objstore.CacheOptions{TTL: ttl})
		r.put(t, "ab/s.src", "version 1")
		r.mustRead(t, "ab/s.src", "version 1")
		// Rewritten by another process: the copy is served until the TTL
		// is up (the stated window), then the new version.
		r.put(t, "ab/s.src", "version 2")
		r.clock.add(ttl - time.Second)
		r.mustRead(t, "ab/s.src", "version 1")
		r.count.reset()
		r.clock.add(time.Second)
		r.mustRead(t, "ab/s.src", "version 2")
		if h, g := r.count.get("HEAD"), r.count.get("GET"); h != 1 || g != 1 {
			t.Fatalf("revalidation of a rewritten object: %d HEAD, %d GET; want 1 and 1", h, g)
		}
		// Unchanged: a HEAD vouches for the copy again, no GET.
		r.count.reset()
		r.clock.add(ttl)
		r.mustRead(t, "ab/s.src", "version 2")
		if h, g := r.count.get("HEAD"), r.count.get("GET"); h != 1 || g != 0 {
			t.Fatalf("revalidation of an unchanged object: %d HEAD, %d GET; want 1 and 0", h, g)
		}
		// Removed by another process: gone after the TTL, copy deleted.
		if err := r.b.Remove(context.Background(), "ab/s.src"); err != nil {
			t.Fatal(err)
		}
		r.mustRead(t, "ab/s.src", "version 2")
		r.clock.add(ttl)
		if _, err := r.read(t, "ab/s.src"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("removed object after the TTL: %v", err)
		}
		if d := diskBytes(t, r.dir); d != 0 {
			t.Fatalf("removed object's copy still on disk: %d bytes", d)
		}
		// This process's own writes and removals are seen at once.
		if err := r.cache.Put(context.Background(), "ab/own", strings.NewReader("mine")); err != nil {
			t.Fatal(err)
		}
		r.count.reset()
		r.mustRead(t, "ab/own", "mine")
		if err := r.cache.Remove(context.Background(), "ab/own"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.read(t, "ab/own"); !errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("own removal: %v", err)
		}
		if n := r.count.get("GET") + r.count.get("HEAD"); n != 0 {
			t.Fatalf("own writes read back through the store: %d requests", n)
		}
		// Has asks with a HEAD, never fetching.
		r.put(t, "ab/video.mp4", strings.Repeat("v", 5000))
		r.count.reset()
		if ok, err := r.cache.Has(context.Background(), "ab/video.mp4"); !ok || err != nil {
			t.Fatalf("has: %v, %v", ok, err)
		}
		if h, g := r.count.get("HEAD"), r.count.get("GET"); h != 1 || g != 0 {
			t.Fatalf("has: %d HEAD, %d GET", h, g)
		}
	})

	t.Run("Restart", func(t *testing.T) {
		// Copies outlive the process: a new cache on the same folder takes
		// them back and revalidates each with a HEAD, no GET.
		r := newRig(t, srv, "restart", objstore.CacheOptions{})
		r.put(t, "ab/r", "kept")
		r.mustRead(t, "ab/r", "kept")
		c2, err := objstore.NewCache(r.b, objstore.CacheOptions{Dir: r.dir, Now: r.clock.now})
		if err != nil {
			t.Fatal(err)
		}
		if c2.Used() != 4 {
			t.Fatalf("taken back: %d bytes", c2.Used())
		}
		r.count.reset()
		f, _, err := c2.Open(context.Background(), "ab/r")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if h, g := r.count.get("HEAD"), r.count.get("GET"); h != 1 || g != 0 {
			t.Fatalf("first use after restart: %d HEAD, %d GET", h, g)
		}
	})

	t.Run("StoreDown", func(t *testing.T) {
		r := newRig(t, srv, "down", objstore.CacheOptions{TTL: time.Minute})
		r.put(t, "ab/d", "cached before the outage")
		r.mustRead(t, "ab/d", "cached before the outage")
		srv.Stop()
		defer srv.Restart(t)
		// Past the TTL the store cannot vouch: the copy is served anyway.
		r.clock.add(2 * time.Minute)
		for range 3 {
			r.mustRead(t, "ab/d", "cached before the outage")
		}
		// What was never fetched is an error, not "not found".
		if _, err := r.read(t, "ab/never"); err == nil || errors.Is(err, objstore.ErrNotFound) {
			t.Fatalf("uncached object with the store down: %v", err)
		}
	})
}

func diskBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
