package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"shoebox/internal/library"
	"shoebox/internal/thumbs"
)

// BenchmarkObserve is what the middleware adds to every request for
// /metrics: a route lookup, one histogram observation, one counter add.
func BenchmarkObserve(b *testing.B) {
	m := newMetrics(nil, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.observe("GET /thumbnail/{id}", http.StatusOK, 300*time.Microsecond)
		}
	})
}

// BenchmarkObserveWithLabelValues is the plain way, labels hashed on every
// request, for comparison with the cached children above.
func BenchmarkObserveWithLabelValues(b *testing.B) {
	m := newMetrics(nil, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.duration.WithLabelValues("GET /thumbnail/{id}").Observe(300e-6)
			m.requests.WithLabelValues("GET /thumbnail/{id}", strconv.Itoa(http.StatusOK)).Inc()
		}
	})
}

// BenchmarkThumbnailFromMemory is a whole thumbnail request through the
// site's handler (middleware, mux, in-memory cache), to set the figures
// above against.
func BenchmarkThumbnailFromMemory(b *testing.B) {
	store := thumbs.Store{Dir: b.TempDir()}
	id := strings.Repeat("ab", 10)
	if !library.ValidID(id) {
		b.Fatalf("%s is not a photo id", id)
	}
	if err := store.Write(id, thumbs.Thumb, make([]byte, 12<<10)); err != nil {
		b.Fatal(err)
	}
	s, err := New(nil, nil, store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	req := httptest.NewRequest("GET", "/thumbnail/"+id, nil)
	req.Host = "127.0.0.1:8080" // no account: loopback names only
	req.RemoteAddr = "127.0.0.1:50000"
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if w.code != http.StatusOK {
		b.Fatalf("thumbnail: %d", w.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req.Clone(req.Context()))
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }
