package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2/simplelru"
	"golang.org/x/sync/singleflight"

	"shoebox/internal/storage"
)

// thumbCache holds the most recently asked-for thumbnails, bounded in
// bytes: a gallery's worth of them costs no file system call at all, and
// when full the least recently used ones make room (a busy gallery keeps
// its thumbnails however many other photos are looked at once). Thumbnails
// are immutable for their id, so an entry in a folder store's server can
// never be stale; with a remote store an entry lives only for the media
// cache's TTL (memImage.until), like the copy it came from.
type thumbCache struct {
	mu     sync.Mutex // Get moves an entry to the front: a write
	lru    *lru.LRU[string, *memImage]
	size   int // bytes of bodies held
	budget int
}

func newThumbCache(budget int) *thumbCache {
	c := &thumbCache{budget: budget}
	// The count is bounded by the bytes (every body is at least one byte):
	// the library's count limit is set out of the way.
	c.lru, _ = lru.NewLRU[string, *memImage](math.MaxInt, func(_ string, im *memImage) { c.size -= len(im.body) })
	return c
}

func (c *thumbCache) get(id string) (*memImage, bool) {
	c.mu.Lock()
	im, ok := c.lru.Get(id)
	c.mu.Unlock()
	return im, ok
}

// put keeps im for id, evicting the least recently used entries until the
// bodies fit the budget. A body larger than the whole budget is not kept.
func (c *thumbCache) put(id string, im *memImage) {
	if len(im.body) > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.lru.Peek(id); ok {
		if old.until == 0 {
			return // immutable: the one held is the same
		}
		c.lru.Remove(id) // expired: replaced
	}
	c.lru.Add(id, im)
	c.size += len(im.body)
	for c.size > c.budget {
		c.lru.RemoveOldest()
	}
}

// pageCache coalesces identical list requests (gallery, search, API pages)
// and keeps their answer for a moment. A burst of the same page — a gallery
// opened by many people, or reloaded — costs one query and one render, not
// one per request: load turns into bytes served, not connections taken.
// Answers are at most ttl old; image routes never come here. It is bounded
// in bytes like thumbCache: when full, the least recently used pages make
// room, so a busy page stays cached however many others are asked for once.
type pageCache struct {
	ttl   time.Duration
	stale time.Duration // an expired page may be served this much longer while one request refreshes it
	max   int           // bytes
	mu    sync.Mutex    // get moves an entry to the front: a write
	size  int           // bytes of bodies held
	pages *lru.LRU[string, page]
	group singleflight.Group
}

type page struct {
	body  []byte
	ctype string
	at    time.Time
}

func newPageCache(ttl, stale time.Duration, maxBytes int) *pageCache {
	c := &pageCache{ttl: ttl, stale: stale, max: maxBytes}
	// As in thumbCache, the bytes bound the count.
	c.pages, _ = lru.NewLRU[string, page](math.MaxInt, func(_ string, p page) { c.size -= len(p.body) })
	return c
}

// get returns the page for key; fresh says whether it is within ttl (else
// it is stale but still servable). A page too old to serve is dropped.
func (c *pageCache) get(key string) (p page, ok, fresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok = c.pages.Get(key)
	if !ok {
		return page{}, false, false
	}
	age := time.Since(p.at)
	if age > c.ttl+c.stale {
		c.pages.Remove(key)
		return page{}, false, false
	}
	return p, true, age <= c.ttl
}

// put keeps p for key (replacing what was there), evicting the least
// recently used pages until the bodies fit. A body larger than the whole
// budget is not kept.
func (c *pageCache) put(key string, p page) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p.body) > c.max {
		c.pages.Remove(key) // what is held is older than the answer just made
		return
	}
	if old, ok := c.pages.Peek(key); ok {
		c.size -= len(old.body) // Add replaces without calling the eviction hook
	}
	c.pages.Add(key, p)
	c.size += len(p.body)
	for c.size > c.max {
		c.pages.RemoveOldest()
	}
}

// cached answers from the cache (pages made for scope), or runs produce once for all the requests
// for key that arrive meanwhile. produce runs with the first requester's
// context; if that requester hangs up (cancelling its query), the others
// produce the page themselves. A page just past its ttl is served as it is
// while one background refresh runs, so a busy page never makes everyone
// wait at the moment it expires; a page older than ttl+stale never is (so a
// database outage shows as 503, not as old pages).
func (s *Server) cached(w http.ResponseWriter, r *http.Request, scope storage.Scope, produce func(ctx context.Context) (page, error)) {
	// Readers who see the same libraries share pages; no one else does.
	// Its own state changes (the user's counter) and the visibility
	// epoch (an album shared or unshared, which leaves the scope's key as
	// it was) start new pages: those of before are not served after.
	key := r.URL.Path + "?" + r.URL.RawQuery + "#" + scope.Key() + "#" + strconv.FormatUint(s.states.of(scope.User()), 10) +
		"@" + strconv.FormatInt(s.vis.epoch(), 10)
	refresh := func(ctx context.Context) (any, error) {
		p, err := produce(ctx)
		if err == nil {
			p.at = time.Now()
			s.cache.put(key, p)
		}
		return p, err
	}
	p, ok, fresh := s.cache.get(key)
	switch {
	case ok && !fresh:
		go s.cache.group.Do(key, func() (any, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return refresh(ctx)
		})
	case !ok:
		v, err, _ := s.cache.group.Do(key, func() (any, error) { return refresh(r.Context()) })
		if err != nil && errors.Is(err, context.Canceled) && r.Context().Err() == nil {
			v, err = produce(r.Context())
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p = v.(page)
	}
	h := w.Header()
	h.Set("Content-Type", p.ctype)
	h.Set("Cache-Control", "no-cache")
	w.Write(p.body)
}
