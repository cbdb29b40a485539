package web

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// metrics counts requests by route and status, without the database.
type metrics struct {
	mu       sync.Mutex
	requests map[[2]string]int64 // (route, status) -> count
	seconds  map[string]float64  // route -> total seconds
	hangups  atomic.Int64
}

func newMetrics() *metrics {
	return &metrics{requests: map[[2]string]int64{}, seconds: map[string]float64{}}
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	if status == 0 {
		status = 200
	}
	m.mu.Lock()
	m.requests[[2]string{route, fmt.Sprint(status)}]++
	m.seconds[route] += d.Seconds()
	m.mu.Unlock()
}

// metricsPage writes Prometheus text format: pool figures, requests, memory.
func (s *Server) metricsPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	st := s.db.Stats()
	gauge := func(name, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %v\n", name, help, name, name, v)
	}
	counter := func(name, help string, v any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %v\n", name, help, name, name, v)
	}
	gauge("shoebox_db_max_conns", "Connection budget of this process.", st.MaxConns)
	gauge("shoebox_db_acquired_conns", "Connections in use.", st.AcquiredConns)
	gauge("shoebox_db_idle_conns", "Idle pooled connections.", st.IdleConns)
	gauge("shoebox_db_total_conns", "Open connections.", st.TotalConns)
	gauge("shoebox_db_waiting", "Requests waiting for a connection.", st.Waiting)
	counter("shoebox_db_acquire_total", "Connection acquires.", st.AcquireCount)
	counter("shoebox_db_empty_acquire_total", "Acquires that had to wait for a connection.", st.EmptyAcquireCount)
	counter("shoebox_db_acquire_wait_seconds_total", "Time spent waiting for connections.", st.AcquireWaitMS/1000)
	counter("shoebox_db_acquire_timeouts_total", "Acquires that gave up at the deadline (answered 503).", st.AcquireTimeouts)
	counter("shoebox_db_unavailable_total", "Acquires that found the database unreachable.", st.Unavailable)
	counter("shoebox_http_client_hangups_total", "Requests whose client went away mid-request.", s.metrics.hangups.Load())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	gauge("shoebox_go_heap_bytes", "Go heap in use.", ms.HeapInuse)
	gauge("shoebox_go_goroutines", "Goroutines.", runtime.NumGoroutine())
	gauge("shoebox_uptime_seconds", "Seconds since start.", int64(time.Since(s.started).Seconds()))

	s.metrics.mu.Lock()
	defer s.metrics.mu.Unlock()
	keys := make([][2]string, 0, len(s.metrics.requests))
	for k := range s.metrics.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	fmt.Fprintf(w, "# HELP shoebox_http_requests_total HTTP requests by route and status.\n# TYPE shoebox_http_requests_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(w, "shoebox_http_requests_total{route=%q,code=%q} %d\n", k[0], k[1], s.metrics.requests[k])
	}
	routes := make([]string, 0, len(s.metrics.seconds))
	for k := range s.metrics.seconds {
		routes = append(routes, k)
	}
	sort.Strings(routes)
	fmt.Fprintf(w, "# HELP shoebox_http_request_seconds_total Time spent serving, by route.\n# TYPE shoebox_http_request_seconds_total counter\n")
	for _, k := range routes {
		fmt.Fprintf(w, "shoebox_http_request_seconds_total{route=%q} %g\n", k, s.metrics.seconds[k])
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 when the database answers, 503 otherwise.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		if r.Context().Err() != nil {
			return
		}
		w.Header().Set("Retry-After", "5")
		http.Error(w, "database not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok\n"))
}
