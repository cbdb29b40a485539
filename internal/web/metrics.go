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

// metrics counts requests by route and status, without the database and
// without a lock on the hot path: one set of atomic counters per route.
type metrics struct {
	routes  sync.Map // route pattern -> *routeStats
	hangups atomic.Int64
}

type routeStats struct {
	codes  [600]atomic.Int64
	micros atomic.Int64
}

func newMetrics() *metrics { return &metrics{} }

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	if status < 100 || status > 599 {
		status = 200
	}
	v, ok := m.routes.Load(route)
	if !ok {
		v, _ = m.routes.LoadOrStore(route, &routeStats{})
	}
	rs := v.(*routeStats)
	rs.codes[status].Add(1)
	rs.micros.Add(d.Microseconds())
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

	var routes []string
	s.metrics.routes.Range(func(k, _ any) bool { routes = append(routes, k.(string)); return true })
	sort.Strings(routes)
	fmt.Fprintf(w, "# HELP shoebox_http_requests_total HTTP requests by route and status.\n# TYPE shoebox_http_requests_total counter\n")
	for _, route := range routes {
		v, _ := s.metrics.routes.Load(route)
		rs := v.(*routeStats)
		for code := range rs.codes {
			if n := rs.codes[code].Load(); n > 0 {
				fmt.Fprintf(w, "shoebox_http_requests_total{route=%q,code=\"%d\"} %d\n", route, code, n)
			}
		}
	}
	fmt.Fprintf(w, "# HELP shoebox_http_request_seconds_total Time spent serving, by route.\n# TYPE shoebox_http_request_seconds_total counter\n")
	for _, route := range routes {
		v, _ := s.metrics.routes.Load(route)
		fmt.Fprintf(w, "shoebox_http_request_seconds_total{route=%q} %g\n", route, float64(v.(*routeStats).micros.Load())/1e6)
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
		s.log.Warn("not ready", "err", err)
		w.Header().Set("Retry-After", "5")
		http.Error(w, "database not ready", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Write([]byte("ok\n"))
}
