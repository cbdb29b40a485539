package web

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// pageCache coalesces identical list requests (gallery, search, API pages)
// and keeps their answer for a moment. A burst of the same page — a gallery
// opened by many people, or reloaded — costs one query and one render, not
// one per request: load turns into bytes served, not connections taken.
// Answers are at most ttl old; image routes never come here.
type pageCache struct {
	ttl     time.Duration
	max     int
	mu      sync.Mutex
	entries map[string]page
	group   singleflight.Group
}

type page struct {
	body  []byte
	ctype string
	at    time.Time
}

func newPageCache(ttl time.Duration, max int) *pageCache {
	return &pageCache{ttl: ttl, max: max, entries: map[string]page{}}
}

func (c *pageCache) get(key string) (page, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.entries[key]
	if !ok || time.Since(p.at) > c.ttl {
		return page{}, false
	}
	return p, true
}

func (c *pageCache) put(key string, p page) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		clear(c.entries) // crude, but bounded; the next burst refills it
	}
	c.entries[key] = p
}

// serve answers from the cache, or runs produce once for all the requests
// for key that arrive meanwhile. produce runs with the first requester's
// context; if that requester hangs up (cancelling its query), the others
// produce the page themselves.
func (s *Server) cached(w http.ResponseWriter, r *http.Request, produce func(ctx context.Context) (page, error)) {
	key := r.URL.Path + "?" + r.URL.RawQuery
	p, ok := s.cache.get(key)
	if !ok {
		v, err, _ := s.cache.group.Do(key, func() (any, error) {
			p, err := produce(r.Context())
			if err == nil {
				p.at = time.Now()
				s.cache.put(key, p)
			}
			return p, err
		})
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
