// Package jobs runs Shoebox's durable work: scanning libraries, processing
// photos, embedding them and regrouping near-duplicates. Jobs live in PostgreSQL (see storage/job.go), are
// claimed with a lease tied to the worker's heartbeat, and are idempotent, so
// a process killed mid-job (kill -9) is resumed by the next one and every
// photo ends up indexed exactly once. Workers hold a connection only for the
// short statements of claiming and saving, never while decoding a photo, and
// only within the background share of the connection budget.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"shoebox/internal/ai"
	"shoebox/internal/media"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// Job kinds.
const (
	KindScan       = "scan"       // walk a library (key: its root)
	KindProcess    = "process"    // decode a photo, thumbnails, metadata (key: photo id)
	KindEmbed      = "embed"      // CLIP vector and tags (key: photo id)
	KindDuplicates = "duplicates" // regroup near-duplicates (key: model name)
	KindTranscode  = "transcode"  // convert a video for browsers (key: photo id), in its own lane
)

// Kinds are every job kind, so figures by kind show a drained queue as 0.
var Kinds = []string{KindScan, KindProcess, KindEmbed, KindDuplicates, KindTranscode}

// priority is the queue's order, in one place: lower runs first. A scan
// finds the work, so it goes before the photos it queues; a photo is shown
// once processed, so processing goes before embedding; duplicates are
// regrouped once the embeddings are in.
var priority = map[string]int{
	KindScan:       0,
	KindProcess:    1,
	KindEmbed:      2,
	KindDuplicates: 3,
	KindTranscode:  4,
}

// job describes a job of kind to enqueue, with the kind's priority.
func job(kind, key string, args any) storage.EnqueueParams {
	p, ok := priority[kind]
	if !ok {
		panic("jobs: unknown kind " + kind)
	}
	return storage.EnqueueParams{Kind: kind, Key: key, Args: args, Priority: p}
}

// embedBatch is how many photos one embed run takes at once.
const embedBatch = 16

// Options configure the workers.
type Options struct {
	// Workers is how many jobs run at once. Default: number of CPUs.
	Workers int
	// Skip are folders never indexed (the data folder), recognised by
	// identity wherever a library's links lead.
	Skip []string
	// StayInside skips symlinks that lead outside a library's root.
	StayInside bool
	// MaxPixels refuses larger images; 0 is media.DefaultMaxPixels.
	MaxPixels int64
	// Exclusive says this process owns the database alone (embedded
	// cluster): jobs of earlier processes are resumed at once.
	Exclusive bool
	// Poll is how often idle workers look for work. Default 500ms.
	Poll time.Duration
	// StaleAfter is how long a silent worker keeps its jobs. Default 30s.
	StaleAfter time.Duration
	// Embedder, when set, embeds every indexed photo for search by meaning.
	Embedder ai.Embedder
	// DuplicateDistance is the cosine distance under which two photos are
	// near-duplicates. Default 0.03.
	DuplicateDistance float64
	// TranscodeWorkers is how many videos are converted at once, in a
	// lane of their own so that a queue of long conversions never holds
	// up indexing. Default 1: one ffmpeg already uses every core.
	TranscodeWorkers int
	// Transcode tunes and bounds each conversion (preset, time limit).
	Transcode media.TranscodeOptions
	// Metrics, when set, count the work for /metrics.
	Metrics *Metrics
	Logger  *slog.Logger
}

// Runner claims and runs jobs.
type Runner struct {
	st    *storage.Storage
	store thumbs.Store
	opts  Options
	id    string
	log   *slog.Logger
	met   *Metrics

	mu        sync.Mutex
	progress  Progress
	indexOnce sync.Once

	notesChecked sync.Map // library roots whose notes this process has checked (see scan)

	labelsMu   sync.Mutex
	labelNames []string    // the tag vocabulary, in ai.Labels order
	labelVecs  [][]float32 // its embeddings for the model
}

// Progress counts what this process has done, for progress output.
type Progress struct {
	Processed int // photos processed (indexed or failed)
	Failed    int
	Scanned   int // files looked at by scans
	Unchanged int // of those, files found as they were indexed (not read again)
	Embedded  int // photos embedded
}

// New returns a Runner over st (which should run on the background share).
func New(st *storage.Storage, store thumbs.Store, o Options) *Runner {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 30 * time.Second
	}
	if o.TranscodeWorkers <= 0 {
		o.TranscodeWorkers = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DuplicateDistance <= 0 {
		o.DuplicateDistance = 0.03
	}
	met := o.Metrics
	if met == nil {
		met = NewMetrics(nil)
	}
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	id := fmt.Sprintf("%s-%s-%s-%s-%s", hex.EncodeToString(b[0:4]), hex.EncodeToString(b[4:6]),
		hex.EncodeToString(b[6:8]), hex.EncodeToString(b[8:10]), hex.EncodeToString(b[10:]))
	return &Runner{st: st, store: store, opts: o, id: id, log: o.Logger, met: met}
}

// Progress returns what this process has done so far.
func (r *Runner) Progress() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.progress
}

func (r *Runner) count(fn func(*Progress)) {
	r.mu.Lock()
	fn(&r.progress)
	r.mu.Unlock()
}

// TrashKept is how long a photo stays in a trash before the trash is
// emptied of it (hidden for good; library files are never touched).
const TrashKept = 30 * 24 * time.Hour

// EnqueueScan asks for library root to be scanned.
func (r *Runner) EnqueueScan(ctx context.Context, root string) error {
	return r.st.Enqueue(ctx, ScanJob(root))
}

// ScanJob is the job that scans library root: a command that adds a
// library queues it, and whichever server runs the queue scans it.
func ScanJob(root string) storage.EnqueueParams { return job(KindScan, root, scanArgs{Root: root}) }

// ProcessJob is the job that indexes photo id (an upload saves its file
// and this job in one transaction).
func ProcessJob(id string) storage.EnqueueParams { return job(KindProcess, id, nil) }

// PurgeTrash empties every trash of what was trashed more than age ago
// and, in the same transaction, queues a scan of each upload library that
// holds a file of a photo so emptied: the scan deletes those files.
func PurgeTrash(ctx context.Context, st *storage.Storage, age time.Duration) (n int, err error) {
	err = st.Tx(ctx, func(tx *storage.Storage) error {
		if n, err = tx.PurgeTrash(ctx, age); err != nil || n == 0 {
			return err
		}
		return enqueuePurgedScans(ctx, tx)
	})
	return n, err
}

// EmptyTrash empties user's trash now, queueing the scans that delete its
// uploaded files as PurgeTrash does.
func EmptyTrash(ctx context.Context, st *storage.Storage, user int64) (n int, err error) {
	err = st.Tx(ctx, func(tx *storage.Storage) error {
		if n, err = tx.EmptyTrash(ctx, user); err != nil || n == 0 {
			return err
		}
		return enqueuePurgedScans(ctx, tx)
	})
	return n, err
}

func enqueuePurgedScans(ctx context.Context, tx *storage.Storage) error {
	roots, err := tx.PurgedUploadRoots(ctx)
	if err != nil {
		return err
	}
	for _, root := range roots {
		if err := tx.Enqueue(ctx, ScanJob(root)); err != nil {
			return err
		}
	}
	return nil
}

// Run works until ctx is cancelled. It registers the worker, keeps its
// heartbeat, takes over jobs of dead workers, and runs Workers jobs at once.
// It retries its registration while the database is unreachable.
func (r *Runner) Run(ctx context.Context) error {
	for {
		err := r.st.RegisterWorker(ctx, r.id)
		if err == nil {
			break
		}
		r.log.Warn("jobs: cannot register worker; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	if r.opts.Exclusive {
		if err := r.st.ForgetOtherWorkers(ctx, r.id); err != nil {
			r.log.Warn("jobs: forget old workers", "err", err)
		}
	}
	r.releaseDead(ctx)
	r.prepareEmbeddings(ctx)
	if n := r.store.CleanTemp(time.Minute); n > 0 {
		r.log.Info("jobs: removed half-written files of a stopped worker", "files", n)
	}
	if n, err := r.store.Restrict(); err != nil {
		r.log.Warn("jobs: media files of an older Shoebox stay readable by others", "err", err)
	} else if n > 0 {
		r.log.Info("jobs: media files made private (0700 folders, 0600 files)", "entries", n)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.heartbeat(ctx) }()
	for i := 0; i < r.opts.Workers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.work(ctx, r.kinds()) }()
	}
	for i := 0; i < r.opts.TranscodeWorkers; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); r.work(ctx, []string{KindTranscode}) }()
	}
	wg.Wait()
	return nil
}

func (r *Runner) releaseDead(ctx context.Context) {
	n, err := r.st.ReleaseDeadWorkers(ctx, r.opts.StaleAfter, r.id)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("jobs: release dead workers", "err", err)
		}
		return
	}
	if n > 0 {
		r.log.Info("jobs: resumed jobs of a stopped worker", "jobs", n)
	}
}

func (r *Runner) heartbeat(ctx context.Context) {
	t := time.NewTicker(r.opts.StaleAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.st.Heartbeat(ctx, r.id); err != nil && ctx.Err() == nil {
				r.log.Warn("jobs: heartbeat", "err", err)
			}
			r.releaseDead(ctx)
			if err := r.st.PruneJobs(ctx, 24*time.Hour); err != nil && ctx.Err() == nil {
				r.log.Warn("jobs: prune", "err", err)
			}
			if n, err := PurgeTrash(ctx, r.st, TrashKept); err != nil && ctx.Err() == nil {
				r.log.Warn("jobs: empty trash", "err", err)
			} else if n > 0 {
				r.log.Info("trash emptied", "photos", n, "after", TrashKept)
			}
		}
	}
}

// work claims and runs jobs of kinds until ctx ends.
func (r *Runner) work(ctx context.Context, kinds []string) {
	for ctx.Err() == nil {
		jobs, err := r.st.ClaimJobs(ctx, r.id, kinds, 1)
		if err == nil && len(jobs) == 1 && jobs[0].Kind == KindEmbed {
			// Embedding runs in batches: take the next ones along.
			more, err := r.st.ClaimJobs(ctx, r.id, []string{KindEmbed}, embedBatch-1)
			if err == nil {
				start := time.Now()
				r.embed(ctx, append(jobs, more...))
				r.met.observeJob(KindEmbed, start)
				continue
			}
		}
		if err != nil || len(jobs) == 0 {
			if err != nil && ctx.Err() == nil {
				r.log.Warn("jobs: claim", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(r.opts.Poll):
			}
			continue
		}
		start := time.Now()
		r.runJob(ctx, jobs[0])
		r.met.observeJob(jobs[0].Kind, start)
	}
}

func (r *Runner) kinds() []string {
	if r.opts.Embedder != nil {
		return []string{KindScan, KindProcess, KindEmbed, KindDuplicates}
	}
	return []string{KindScan, KindProcess}
}

func (r *Runner) runJob(ctx context.Context, j storage.Job) {
	var (
		result any
		err    error
	)
	switch j.Kind {
	case KindScan:
		result, err = r.scan(ctx, j)
	case KindProcess:
		err = r.process(ctx, j.Key)
	case KindEmbed:
		r.embed(ctx, []storage.Job{j})
		return
	case KindDuplicates:
		err = r.duplicates(ctx)
	case KindTranscode:
		result, err = r.transcode(ctx, j)
	default:
		err = fmt.Errorf("unknown job kind %q", j.Kind)
	}
	if ctx.Err() != nil {
		// Stopping: the job goes back to the queue as it was, for the next
		// start (a restart would resume it anyway, but a job left running
		// reads as work in progress meanwhile).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := r.st.ReleaseJob(rctx, j.ID); err != nil {
			r.log.Warn("jobs: put back on stop", "kind", j.Kind, "key", j.Key, "err", err)
		}
		return
	}
	r.finish(ctx, j, result, err)
}

// finish records a job's outcome: done, or retried after a backoff.
func (r *Runner) finish(ctx context.Context, j storage.Job, result any, err error) {
	if err != nil {
		r.log.Warn("jobs: attempt failed", "kind", j.Kind, "key", j.Key, "attempt", j.Attempts, "err", err)
		backoff := time.Duration(j.Attempts*j.Attempts) * time.Second
		if rerr := r.st.RetryJob(ctx, j.ID, err.Error(), backoff); rerr != nil {
			r.log.Error("jobs: record failure", "err", rerr)
		}
		return
	}
	for {
		err := r.st.CompleteJob(ctx, j.ID, result)
		if err == nil || ctx.Err() != nil {
			return
		}
		// The work is done and idempotent; if we cannot say so now (database
		// restarting), keep trying rather than doing it again.
		r.log.Warn("jobs: complete", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
