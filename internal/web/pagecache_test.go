package web

import (
	"strings"
	"testing"
	"time"
)

// The page cache is bounded in bytes and, when full, evicts the least
// recently used pages, never more than it must (it once emptied itself).
func TestPageCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := newPageCache(time.Minute, time.Minute, 100)
	pageOf := func(n int) page { return page{body: []byte(strings.Repeat("x", n)), at: time.Now()} }
	has := func(want string, size int) {
		t.Helper()
		var got string
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			if _, ok := c.pages.Peek(k); ok {
				got += k
			}
		}
		if got != want || c.size != size {
			t.Fatalf("cache holds %q in %d bytes, want %q in %d", got, c.size, want, size)
		}
	}
	for _, k := range []string{"a", "b", "c"} {
		c.put(k, pageOf(30))
	}
	if _, ok, fresh := c.get("a"); !ok || !fresh { // a is now the most recently used
		t.Fatal("a missing before the budget is reached")
	}
	c.put("d", pageOf(30)) // 120 > 100: only b, the least recently used, goes
	has("acd", 90)
	c.put("c", pageOf(50)) // replaced and used: 110 > 100, so a goes
	has("cd", 80)
	if p, _, _ := c.get("c"); len(p.body) != 50 {
		t.Fatalf("c holds %d bytes, want the new 50", len(p.body))
	}
	c.put("e", pageOf(101)) // larger than the whole budget: not kept, nothing evicted
	has("cd", 80)

	// A page past ttl+stale is never served, and its bytes are given back.
	c.put("e", page{body: []byte("old"), at: time.Now().Add(-3 * time.Minute)})
	if _, ok, _ := c.get("e"); ok {
		t.Fatal("a page older than ttl+stale was served")
	}
	has("cd", 80)
}
