package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics count the indexing work for /metrics, incremented where the work
// is done. Hand them to the Runner in Options; without them it counts into
// figures nobody reads (the index command has no /metrics).
type Metrics struct {
	indexed   prometheus.Counter
	failed    prometheus.Counter
	scanned   prometheus.Counter
	unchanged prometheus.Counter
	embedded  prometheus.Counter
	faces     prometheus.Counter
	duration  *prometheus.HistogramVec // by job kind
}

// NewMetrics makes the indexing figures and registers them with reg (nil:
// not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		indexed: f.NewCounter(prometheus.CounterOpts{
			Name: "shoebox_photos_indexed_total",
			Help: "Photos decoded and saved with their thumbnail, preview and metadata.",
		}),
		failed: f.NewCounter(prometheus.CounterOpts{
			Name: "shoebox_photos_failed_total",
			Help: "Photos that could not be decoded (marked failed with the reason).",
		}),
		scanned: f.NewCounter(prometheus.CounterOpts{
			Name: "shoebox_files_scanned_total",
			Help: "Files looked at by library scans.",
		}),
		unchanged: f.NewCounter(prometheus.CounterOpts{
			Name: "shoebox_files_unchanged_total",
			Help: "Files a scan found unchanged (same size and modification time) and did not read again.",
		}),
		embedded: f.NewCounter(prometheus.CounterOpts{
			Name: "shoebox_embeddings_total",
			Help: "Photos embedded for search by meaning.",
		}),
		faces: f.NewCounter(prometheus.CounterOpts{
			Name: "shoebox_faces_found_total",
			Help: "Faces found on photos (and saved, grouped into people).",
		}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shoebox_job_duration_seconds",
			Help:    "Time to run a job (an embed batch counts once), by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
	}
}

// observeJob records how long a job of kind took since start.
func (m *Metrics) observeJob(kind string, start time.Time) {
	m.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
}
