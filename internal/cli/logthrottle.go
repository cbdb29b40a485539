package cli

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// throttle passes each warning message at most once per interval. While the
// database is down every worker's poll, every readiness probe and every shed
// request says the same thing several times a second; one line per interval,
// carrying how many were held back ("repeated"), says it as well and keeps
// the log readable. Errors and lower levels pass untouched: an error is
// worth every line.
type throttle struct {
	slog.Handler
	every time.Duration
	state *throttleState
}

type throttleState struct {
	mu   sync.Mutex
	seen map[string]*throttled
}

type throttled struct {
	last     time.Time
	repeated int // held back since last
}

func newThrottle(h slog.Handler, every time.Duration) *throttle {
	return &throttle{Handler: h, every: every, state: &throttleState{seen: map[string]*throttled{}}}
}

func (t *throttle) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn {
		return t.Handler.Handle(ctx, r)
	}
	now := r.Time
	if now.IsZero() {
		now = time.Now()
	}
	s := t.state
	s.mu.Lock()
	e := s.seen[r.Message]
	if e == nil {
		e = &throttled{}
		s.seen[r.Message] = e
	}
	if !e.last.IsZero() && now.Sub(e.last) < t.every {
		e.repeated++
		s.mu.Unlock()
		return nil
	}
	n := e.repeated
	e.last, e.repeated = now, 0
	s.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", n))
	}
	return t.Handler.Handle(ctx, r)
}

func (t *throttle) WithAttrs(as []slog.Attr) slog.Handler {
	return &throttle{Handler: t.Handler.WithAttrs(as), every: t.every, state: t.state}
}

func (t *throttle) WithGroup(name string) slog.Handler {
	return &throttle{Handler: t.Handler.WithGroup(name), every: t.every, state: t.state}
}
