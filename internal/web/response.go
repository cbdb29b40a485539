package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/storage"
)

// fail turns an error into an HTTP answer, once, at the boundary: 404 for
// what doesn't exist, 503 with Retry-After when the database is busy or
// down (never a 500 for load), nothing when the client has gone.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, "internal error"
	switch {
	case r.Context().Err() != nil || errors.Is(err, context.Canceled):
		// The client hung up; its query was cancelled with it.
		s.metrics.hangups.Add(1)
		return
	case errors.Is(err, storage.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.Is(err, errBadRequest):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, errForbidden):
		status, msg = http.StatusForbidden, err.Error()
	case errors.Is(err, storage.ErrNotAllowed):
		status, msg = http.StatusForbidden, "forbidden: not allowed for your role"
	case errors.Is(err, storage.ErrNotInAlbum):
		status, msg = http.StatusBadRequest, storage.ErrNotInAlbum.Error()
	case errors.Is(err, storage.ErrNoAccount):
		status, msg = http.StatusBadRequest, storage.ErrNoAccount.Error()
	case errors.Is(err, storage.ErrOwnAlbum):
		status, msg = http.StatusBadRequest, storage.ErrOwnAlbum.Error()
	case errors.Is(err, database.ErrBusy):
		status, msg = http.StatusServiceUnavailable, "busy: please retry shortly"
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, database.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		status, msg = http.StatusServiceUnavailable, "database unavailable: please retry shortly"
		w.Header().Set("Retry-After", "5")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		s.log.Warn("request shed", "path", r.URL.Path, "err", err)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	s.render(w, r, status, "error", map[string]any{"Status": status, "Message": msg})
}

var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

const jsonType = "application/json; charset=utf-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

// statusWriter remembers the status for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps sendfile for file bodies.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return io.Copy(w.ResponseWriter, r)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware recovers panics (a 500, never a crash), counts requests, and
// sets headers every page shares.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h := sw.Header()
		h["X-Content-Type-Options"] = nosniff
		if !isImageRoute(r.URL.Path) {
			h["Referrer-Policy"] = sameOrigin
			h["Content-Security-Policy"] = csp
			h["X-Frame-Options"] = deny
		}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			status := sw.status
			if status == 0 && r.Context().Err() != nil {
				status = 499 // the client hung up before an answer
			}
			s.metrics.observe(r.Pattern, status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another shoebox running? use --addr)", addr, err)
	}
	return ln, nil
}

// Shared header values: set without allocating on every request.
var (
	nosniff    = []string{"nosniff"}
	sameOrigin = []string{"same-origin"}
	csp        = []string{"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"}
	deny       = []string{"DENY"}
)

func isImageRoute(p string) bool {
	return strings.HasPrefix(p, "/thumbnail/") || strings.HasPrefix(p, "/preview/")
}

func errorsIsNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
