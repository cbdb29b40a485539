package auth

import (
	"sync"
	"time"
)

// Throttle counts failed sign-ins per key (a client address, an account
// name) in memory: after Max failures within Window, Blocked says how long
// to wait. Memory is bounded: at most maxKeys keys, the stalest dropped.
type Throttle struct {
	Max    int
	Window time.Duration

	mu   sync.Mutex
	fail map[string][]time.Time
}

const maxKeys = 100000

// NewThrottle allows max failures per window per key.
func NewThrottle(max int, window time.Duration) *Throttle {
	return &Throttle{Max: max, Window: window, fail: map[string][]time.Time{}}
}

// Blocked returns how long key must wait before trying again (0: may try).
func (t *Throttle) Blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.recent(key, now)
	if len(f) < t.Max {
		return 0
	}
	return f[len(f)-t.Max].Add(t.Window).Sub(now)
}

// Fail records a failure of key at now.
func (t *Throttle) Fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fail) >= maxKeys {
		for k := range t.fail { // drop what has expired; else any one key
			if len(t.recent(k, now)) == 0 {
				continue
			}
			delete(t.fail, k)
			break
		}
	}
	f := append(t.recent(key, now), now)
	if len(f) > t.Max {
		f = f[len(f)-t.Max:]
	}
	t.fail[key] = f
}

// Reset forgets key's failures (after a successful sign-in).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	delete(t.fail, key)
	t.mu.Unlock()
}

// recent is key's failures within the window; t.mu held.
func (t *Throttle) recent(key string, now time.Time) []time.Time {
	f := t.fail[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= t.Window {
		i++
	}
	f = f[i:]
	if len(f) == 0 {
		delete(t.fail, key)
	}
	return f
}
