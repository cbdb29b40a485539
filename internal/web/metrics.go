package web

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"shoebox/internal/database"
	"shoebox/internal/jobs"
	"shoebox/internal/storage"
)

// unmatched is the route label of requests no pattern matched (404s, 405s):
// the raw path never becomes a label, so a client cannot grow the series.
const unmatched = "unmatched"

// scrapeDeadline bounds the queue query of a scrape, so /metrics answers
// (with shoebox_db_up 0) while the database is down or its budget is spent.
const scrapeDeadline = 2 * time.Second

// requestBuckets run from 100µs (a thumbnail from memory) to 10s (a page
// waiting for a connection, then shed).
var requestBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// metrics are what /metrics shows, in a registry of this server's own (not
// Prometheus's global one), so several servers in one process never collide.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // by route and code
	duration *prometheus.HistogramVec // by route
	hangups  prometheus.Counter
	routes   sync.Map // route pattern -> *routeMetrics
	page     http.Handler
}

// routeMetrics are one route's children of the request families, looked up
// once: a request costs a map load and two atomic adds, no label hashing.
type routeMetrics struct {
	route    string
	requests *prometheus.CounterVec
	duration prometheus.Observer
	codes    [600]atomic.Pointer[codeCounter]
}

type codeCounter struct{ prometheus.Counter }

func newMetrics(db *database.DB, st *storage.Storage) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shoebox_http_requests_total",
			Help: "HTTP requests by route pattern and status code (499: the client hung up first).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shoebox_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: requestBuckets,
		}, []string{"route"}),
		hangups: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "shoebox_http_client_hangups_total",
			Help: "Requests whose client went away mid-request.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.hangups,
		poolCollector{db},
		&queueCollector{st: st, kinds: jobs.Kinds},
	)
	m.page = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = unmatched
	}
	if status < 100 || status > 599 {
		status = http.StatusOK
	}
	rm := m.route(route)
	rm.duration.Observe(d.Seconds())
	rm.code(status).Inc()
}

func (m *metrics) route(route string) *routeMetrics {
	if v, ok := m.routes.Load(route); ok {
		return v.(*routeMetrics)
	}
	v, _ := m.routes.LoadOrStore(route, &routeMetrics{route: route, requests: m.requests, duration: m.duration.WithLabelValues(route)})
	return v.(*routeMetrics)
}

func (rm *routeMetrics) code(status int) prometheus.Counter {
	if c := rm.codes[status].Load(); c != nil {
		return c.Counter
	}
	// Racing requests get the same child from the vector: either store is right.
	c := &codeCounter{rm.requests.WithLabelValues(rm.route, strconv.Itoa(status))}
	rm.codes[status].Store(c)
	return c.Counter
}

// Registerer is where other parts of the process (the job runner) add their
// figures to this server's /metrics.
func (s *Server) Registerer() prometheus.Registerer { return s.metrics.reg }

// metricsPage writes every family in Prometheus's text format (or
// OpenMetrics, as the scraper asks); a collector that fails is reported in
// the answer's comments, the rest still shown.
func (s *Server) metricsPage(w http.ResponseWriter, r *http.Request) {
	s.metrics.page.ServeHTTP(w, r)
}

// poolCollector reads the connection pool's figures at scrape time, without
// touching the database.
type poolCollector struct{ db *database.DB }

var (
	poolGauges = []struct {
		desc *prometheus.Desc
		get  func(database.Stats) float64
	}{
		{desc("db_max_conns", "Connection budget of this process."), func(s database.Stats) float64 { return float64(s.MaxConns) }},
		{desc("db_acquired_conns", "Connections in use by requests and jobs."), func(s database.Stats) float64 { return float64(s.AcquiredConns) }},
		{desc("db_session_conns", "Pooled connections held as sessions of their own (the job queue's LISTEN)."), func(s database.Stats) float64 { return float64(s.SessionConns) }},
		{desc("db_idle_conns", "Idle pooled connections."), func(s database.Stats) float64 { return float64(s.IdleConns) }},
		{desc("db_total_conns", "Open connections."), func(s database.Stats) float64 { return float64(s.TotalConns) }},
		{desc("db_waiting", "Requests waiting for a connection."), func(s database.Stats) float64 { return float64(s.Waiting) }},
		{desc("db_background_share", "Connections background work (indexing) may hold at once."), func(s database.Stats) float64 { return float64(s.BackgroundShare) }},
		{desc("db_background_in_use", "Connections of the background share held now."), func(s database.Stats) float64 { return float64(s.BackgroundInUse) }},
	}
	poolCounters = []struct {
		desc *prometheus.Desc
		get  func(database.Stats) float64
	}{
		{desc("db_acquire_total", "Connection acquires."), func(s database.Stats) float64 { return float64(s.AcquireCount) }},
		{desc("db_empty_acquire_total", "Acquires that had to wait for a connection."), func(s database.Stats) float64 { return float64(s.EmptyAcquireCount) }},
		{desc("db_acquire_wait_seconds_total", "Time spent waiting for connections."), func(s database.Stats) float64 { return s.AcquireWaitMS / 1000 }},
		{desc("db_canceled_acquire_total", "Acquires cancelled by their caller (a client hung up, a deadline passed)."), func(s database.Stats) float64 { return float64(s.CanceledAcquireCount) }},
		{desc("db_acquire_timeouts_total", "Acquires that gave up at the deadline (answered 503)."), func(s database.Stats) float64 { return float64(s.AcquireTimeouts) }},
		{desc("db_unavailable_total", "Acquires that found the database unreachable."), func(s database.Stats) float64 { return float64(s.Unavailable) }},
	}
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("shoebox_"+name, help, labels, nil)
}

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range poolGauges {
		ch <- g.desc
	}
	for _, c := range poolCounters {
		ch <- c.desc
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.db.Stats()
	for _, g := range poolGauges {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.get(st))
	}
	for _, k := range poolCounters {
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.CounterValue, k.get(st))
	}
}

// queueCollector counts the job queue by kind at scrape time, within
// scrapeDeadline. When the database does not answer, the scrape still
// succeeds: shoebox_db_up is 0 and the queue is left out (not shown as empty).
type queueCollector struct {
	st    *storage.Storage
	kinds []string // always shown, as 0 when none are queued
}

var (
	dbUpDesc   = desc("db_up", "1 when the database answered this scrape's queue query within its deadline, else 0.")
	queueDesc  = desc("queue_jobs", "Jobs in the queue by kind and state (pending, running, failed for good).", "kind", "state")
	scrapeDesc = desc("queue_scrape_duration_seconds", "Time the queue query of this scrape took.")
)

func (*queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- dbUpDesc
	ch <- queueDesc
	ch <- scrapeDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeDeadline)
	defer cancel()
	start := time.Now()
	depths, err := c.st.QueueDepths(ctx)
	ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, time.Since(start).Seconds())
	if err != nil {
		ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(dbUpDesc, prometheus.GaugeValue, 1)
	shown := map[string]bool{}
	for _, d := range depths {
		shown[d.Kind] = true
		queueGauges(ch, d)
	}
	for _, k := range c.kinds {
		if !shown[k] {
			queueGauges(ch, storage.QueueDepth{Kind: k})
		}
	}
}

func queueGauges(ch chan<- prometheus.Metric, d storage.QueueDepth) {
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(d.Pending), d.Kind, "pending")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(d.Running), d.Kind, "running")
	ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(d.Failed), d.Kind, "failed")
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
