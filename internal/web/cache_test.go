package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func thumbOf(n int) *memImage { return &memImage{body: []byte(strings.Repeat("x", n))} }

// The thumbnail cache evicts the least recently used entries, never more
// than it must, and never holds more bytes than its budget.
func TestThumbCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newThumbCache(100)
	for _, id := range []string{"a", "b", "c"} {
		c.put(id, thumbOf(30))
	}
	if _, ok := c.get("a"); !ok { // a is now the most recently used
		t.Fatal("a missing before the budget is reached")
	}
	c.put("d", thumbOf(30)) // 120 > 100: b, the least recently used, goes
	has := func(want string) {
		t.Helper()
		var got string
		for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
			if _, ok := c.lru.Peek(id); ok {
				got += id
			}
		}
		if got != want {
			t.Fatalf("cache holds %q, want %q", got, want)
		}
		if c.size > c.budget {
			t.Fatalf("cache holds %d bytes, budget %d", c.size, c.budget)
		}
	}
	has("acd")
	if c.size != 90 {
		t.Fatalf("size %d after evicting b, want 90", c.size)
	}
	c.get("c")
	c.put("e", thumbOf(60)) // needs 50 more bytes: a then d go, c (used) stays
	has("ce")
	c.put("f", thumbOf(101)) // larger than the whole budget: not kept, nothing evicted
	has("ce")
	c.put("c", thumbOf(5)) // already held (immutable): unchanged
	if im, _ := c.get("c"); len(im.body) != 30 || c.size != 90 {
		t.Fatalf("re-put changed the entry: %d bytes, size %d", len(im.body), c.size)
	}
}

func TestEtagMatch(t *testing.T) {
	const tag = `"AbCdEfGhIjKlMnOpQrSt-t"`
	for _, tc := range []struct {
		h    []string
		want bool
	}{
		{[]string{tag}, true},
		{[]string{`W/` + tag}, true},
		{[]string{`"x", ` + tag}, true},
		{[]string{`"x"`, tag}, true},
		{[]string{`*`}, true},
		{[]string{`"x"`}, false},
		{[]string{``}, false},
		{[]string{`"AbCdEfGhIjKlMnOpQrSt-p"`}, false},
	} {
		if got := etagMatch(tc.h, tag); got != tc.want {
			t.Errorf("etagMatch(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}

// A cached thumbnail is served without allocating: header values are made
// once, when it is read from disk.
func BenchmarkThumbnailHit(b *testing.B) {
	s := &Server{thumbs: newThumbCache(1 << 20)}
	s.thumbs.put("AbCdEfGhIjKlMnOpQrSt", &memImage{body: make([]byte, 10000), ctype: webpType,
		etag: []string{`"AbCdEfGhIjKlMnOpQrSt-t"`}, length: []string{"10000"}})
	h := s.image("thumb.webp")
	r := httptest.NewRequest("GET", "/thumbnail/AbCdEfGhIjKlMnOpQrSt", nil)
	r.SetPathValue("id", "AbCdEfGhIjKlMnOpQrSt")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h(w, r)
	}
}
