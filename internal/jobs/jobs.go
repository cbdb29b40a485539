// Package jobs runs Shoebox's durable work on River (github.com/riverqueue/river):
// scanning libraries, processing photos, embedding them, finding faces, regrouping
// near-duplicates and converting videos. Jobs live in PostgreSQL (river_job),
// are inserted in the same transaction as the rows they belong to (see
// storage/job.go), are unique per kind and key while live, retried with a
// backoff, and idempotent, so a process killed mid-job (kill -9) has its jobs
// rescued (see heartbeat) and every photo ends up indexed exactly once.
// River runs on the process's own pool, so its connections count in the
// budget; told to listen, it LISTENs on one connection of the budget where
// the database gives a session (database.Session: the direct URL, or
// DATABASE_URL when it is PostgreSQL itself) and polls otherwise (a pooler
// in transaction mode without a direct URL). Workers hold a
// connection only for the short statements of saving, never while decoding
// a photo, and only within the background share of the connection budget.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"shoebox/internal/ai"
	"shoebox/internal/database"
	"shoebox/internal/face"
	"shoebox/internal/media"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

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
	// cluster): jobs of earlier processes are resumed at once, and this
	// process leads River at once.
	Exclusive bool
	// Poll is how often idle workers look for work (River's
	// FetchPollInterval). Default 500ms.
	Poll time.Duration
	// StaleAfter is how long a silent worker process keeps its running
	// jobs before they are rescued. Default 30s.
	StaleAfter time.Duration
	// Listen lets River LISTEN for new jobs and leadership changes, as
	// well as poll, where the database gives a session (database.Session):
	// one connection of the budget, held while River runs. Where it gives
	// none (DATABASE_URL is a pooler in transaction mode and
	// SHOEBOX_DIRECT_DATABASE_URL is unset), or the session cannot be
	// reached when River starts, River only polls. Default false: poll only.
	Listen bool
	// Rescan schedules scans of every library (Roots) at start and every
	// RescanInterval (0: at start only), once for the whole deployment: a
	// River periodic job, inserted by the elected leader only.
	Rescan         bool
	RescanInterval time.Duration
	// Roots lists the libraries a rescan scans (needed with Rescan).
	Roots func(context.Context) ([]string, error)
	// Embedder, when set, embeds every indexed photo for search by meaning.
	// Without one this process leaves embed and duplicates jobs to a
	// process that has a model.
	Embedder ai.Embedder
	// Faces finds the faces on every indexed photo (on its preview) and
	// groups them into people, with face-api's models from FaceModels
	// (empty: face.DefaultModelDir). Models not found: logged once, and
	// this process leaves faces alone. The models load at the first photo.
	Faces      bool
	FaceModels string
	// ORTLib is the ONNX Runtime library the face models run on; empty:
	// found by itself (ai.InitORT).
	ORTLib string
	// DuplicateDistance is the cosine distance under which two photos are
	// near-duplicates. Default 0.03.
	DuplicateDistance float64
	// TranscodeWorkers is how many videos are converted at once, in a
	// queue of their own so that long conversions never hold up indexing.
	// Default 1: one ffmpeg already uses every core.
	TranscodeWorkers int
	// Transcode tunes and bounds each conversion (preset, time limit).
	Transcode media.TranscodeOptions
	// Metrics, when set, count the work for /metrics.
	Metrics *Metrics
	Logger  *slog.Logger
}

// Runner runs jobs: a River client with a worker for each kind.
type Runner struct {
	db    *database.DB
	st    *storage.Storage // the background share
	store thumbs.Store
	opts  Options
	id    string // River's client ID, also its heartbeat's
	log   *slog.Logger
	met   *Metrics

	listening atomic.Bool // River started with a listener

	mu        sync.Mutex
	progress  Progress
	indexOnce sync.Once

	notesChecked sync.Map // library roots whose notes this process has checked (see scan)
	placeWarn    sync.Once

	labelsMu   sync.Mutex
	labelNames []string    // the tag vocabulary, in ai.Labels order
	labelVecs  [][]float32 // its embeddings for the model

	faceDir    string // the face models' folder; "": no faces in this process
	faceMu     sync.Mutex
	facePipe   *face.Pipeline // loaded at the first photo
	faceFailed bool           // the models did not load: faces skipped
}

// Progress counts what this process has done, for progress output.
type Progress struct {
	Processed int // photos processed (indexed or failed)
	Failed    int
	Scanned   int // files looked at by scans
	Unchanged int // of those, files found as they were indexed (not read again)
	Embedded  int // photos embedded
}

// New returns a Runner over db; its work runs on db's background share.
func New(db *database.DB, store thumbs.Store, o Options) *Runner {
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
	b := make([]byte, 6)
	rand.Read(b)
	host, _ := os.Hostname()
	if len(host) > 64 {
		host = host[:64]
	}
	id := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	r := &Runner{db: db, st: storage.New(db.Background()), store: store, opts: o, id: id, log: o.Logger, met: met}
	if o.Faces {
		if r.faceDir = o.FaceModels; r.faceDir == "" {
			r.faceDir = face.DefaultModelDir()
		}
		if _, err := os.Stat(filepath.Join(r.faceDir, "ssd_mobilenetv1_model-weights_manifest.json")); r.faceDir == "" || err != nil {
			r.log.Warn("faces: "+face.ErrModelsNotFound.Error()+"; faces are not looked for", "models", r.faceDir)
			r.faceDir = ""
		}
	}
	return r
}

// ID is the runner's River client ID.
func (r *Runner) ID() string { return r.id }

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

// CarryOver moves the live jobs of the queue before River (kept by
// migration 016) into River, once, in one transaction.
func CarryOver(ctx context.Context, st *storage.Storage, log *slog.Logger) error {
	n, err := st.CarryOverLegacyJobs(ctx, func(tx *storage.Storage, old []storage.LegacyJob) error {
		var args []river.JobArgs
		for _, j := range old {
			a, err := legacyArgs(j)
			if err != nil {
				log.Warn("jobs: old job dropped", "kind", j.Kind, "key", j.Key, "err", err)
				continue
			}
			args = append(args, a)
		}
		for len(args) > 0 {
			n := min(len(args), 1000)
			if err := tx.Enqueue(ctx, args[:n]...); err != nil {
				return err
			}
			args = args[n:]
		}
		return nil
	})
	if n > 0 {
		log.Info("jobs: live jobs of the old queue carried over to River", "jobs", n)
	}
	return err
}

// Run works until ctx is cancelled: it keeps this process's heartbeat,
// rescues the jobs of dead worker processes, empties trashes, and runs
// River's client with Workers jobs at once (TranscodeWorkers more for
// conversions). It waits while the database is unreachable.
func (r *Runner) Run(ctx context.Context) error {
	for {
		err := r.st.Heartbeat(ctx, r.id)
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
		if err := r.st.ForgetOtherClients(ctx, r.id); err != nil {
			r.log.Warn("jobs: forget old workers", "err", err)
		}
	}
	r.rescueDead(ctx)
	r.prepareEmbeddings(ctx)
	r.prepareFaces(ctx)
	defer r.closeFaces() // after River has stopped (deferred later, run first)
	if n := r.store.CleanTemp(time.Minute); n > 0 {
		r.log.Info("jobs: removed half-written files of a stopped worker", "files", n)
	}
	if n, err := r.store.Restrict(); err != nil {
		r.log.Warn("jobs: media files of an older Shoebox stay readable by others", "err", err)
	} else if n > 0 {
		r.log.Info("jobs: media files made private (0700 folders, 0600 files)", "entries", n)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	hctx, stopHeartbeat := context.WithCancel(ctx)
	defer stopHeartbeat() // before the wait: on an error return too
	wg.Add(1)
	go func() { defer wg.Done(); r.heartbeat(hctx) }()
	// River stops when we say, not when ctx ends: then running jobs are
	// cancelled at once and go back to the queue (JobSnooze(0) in work).
	var client *river.Client[pgx.Tx]
	for {
		session := r.session(ctx)
		var err error
		if client, err = r.client(session); err != nil {
			return err
		}
		err = client.Start(context.WithoutCancel(ctx))
		if err == nil {
			r.listening.Store(session != nil)
			break
		}
		r.log.Warn("jobs: cannot start; retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := client.StopAndCancel(sctx); err != nil {
		r.log.Warn("jobs: stop", "err", err)
	}
	r.listening.Store(false)
	return nil
}

// session is the pool River listens from, or nil to poll only: without
// Listen, where the database gives no session, or where it cannot be
// reached now (then River polls until this process restarts; a session
// lost later is River's to reconnect, polling meanwhile).
func (r *Runner) session(ctx context.Context) *pgxpool.Pool {
	if !r.opts.Listen {
		return nil
	}
	pool, where := r.db.Session()
	if pool == nil {
		r.log.Info("jobs: polling for new jobs, not listening", "every", r.opts.Poll, "why", where)
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		r.log.Warn("jobs: cannot reach the connection to listen on; polling instead", "on", where, "every", r.opts.Poll, "err", err)
		return nil
	}
	r.log.Info("jobs: listening for new jobs", "on", where)
	return pool
}

// Listening says whether River runs with a listener (LISTEN on a session
// of its own) besides polling; false until it has started.
func (r *Runner) Listening() bool { return r.listening.Load() }

// The kill -9 rescue. River alone rescues a running job only once it has
// run RescueStuckJobsAfter (default 1 h), whatever became of its process;
// per-kind timeouts would not do either, as a scan of a large library or
// a long conversion may rightly run for long. So each worker process keeps
// a heartbeat (job_clients, keyed by River's client ID, which River writes
// into a running job's attempted_by), and every worker process, every
// StaleAfter/4, makes the running jobs of clients silent for StaleAfter
// available again (one idempotent UPDATE: running it in several processes
// at once is harmless, and it needs no leader, so rescue does not wait for
// a dead leader's term to end). River's own rescuer is left as a backstop
// after a day. An exclusive process (the embedded cluster, under the data
// folder's lock) forgets every other client at start, so it resumes at once.
func (r *Runner) rescueDead(ctx context.Context) {
	n, err := r.st.RescueDeadClients(ctx, r.opts.StaleAfter, r.id)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("jobs: rescue jobs of dead workers", "err", err)
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
			r.rescueDead(ctx)
			if n, err := PurgeTrash(ctx, r.st, TrashKept); err != nil && ctx.Err() == nil {
				r.log.Warn("jobs: empty trash", "err", err)
			} else if n > 0 {
				r.log.Info("trash emptied", "photos", n, "after", TrashKept)
			}
		}
	}
}

// client builds River's client: a worker per kind this process can run
// (embedding only with a model), the default queue with Workers slots,
// conversions in a queue of their own, and the periodic rescan. It
// listens on a connection of session (see listen.go), or only polls when
// session is nil.
func (r *Runner) client(session *pgxpool.Pool) (*river.Client[pgx.Tx], error) {
	ws := river.NewWorkers()
	river.AddWorker(ws, &worker[ScanArgs]{r: r, fn: func(ctx context.Context, j *river.Job[ScanArgs]) (any, error) {
		return r.scan(ctx, j.Args.Root)
	}})
	river.AddWorker(ws, &worker[ProcessArgs]{r: r, fn: func(ctx context.Context, j *river.Job[ProcessArgs]) (any, error) {
		return nil, r.process(ctx, j.Args.ID)
	}})
	river.AddWorker(ws, &worker[TranscodeArgs]{r: r, fn: func(ctx context.Context, j *river.Job[TranscodeArgs]) (any, error) {
		return r.transcode(ctx, j.Args, j.Attempt >= j.MaxAttempts)
	}})
	river.AddWorker(ws, &worker[RescanArgs]{r: r, fn: func(ctx context.Context, j *river.Job[RescanArgs]) (any, error) {
		return r.rescan(ctx)
	}})
	if r.opts.Embedder != nil {
		river.AddWorker(ws, &worker[EmbedArgs]{r: r, fn: func(ctx context.Context, j *river.Job[EmbedArgs]) (any, error) {
			return nil, r.embedJob(ctx, j.Args.ID)
		}})
		river.AddWorker(ws, &worker[DuplicatesArgs]{r: r, fn: func(ctx context.Context, j *river.Job[DuplicatesArgs]) (any, error) {
			return nil, r.duplicates(ctx)
		}})
	}
	if r.facesOn() {
		river.AddWorker(ws, &worker[FacesArgs]{r: r, fn: func(ctx context.Context, j *river.Job[FacesArgs]) (any, error) {
			return nil, r.faces(ctx, j.Args.ID)
		}})
	}
	var periodic []*river.PeriodicJob
	if r.opts.Rescan {
		var sched river.PeriodicSchedule = never{}
		if r.opts.RescanInterval > 0 {
			sched = river.PeriodicInterval(r.opts.RescanInterval)
		}
		periodic = append(periodic, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
			return RescanArgs{}, nil
		}, &river.PeriodicJobOpts{ID: KindRescan, RunOnStart: true}))
	}
	var driver riverdriver.Driver[pgx.Tx] = riverDriver(r.db.Pool)
	if session != nil {
		driver = listenDriver{Driver: riverDriver(r.db.Pool), session: session, hold: r.db.HoldSession}
	}
	return river.NewClient(driver, &river.Config{
		ID:                   r.id,
		Logger:               slog.New(warnOnly{r.log.Handler()}),
		PollOnly:             session == nil,
		FetchPollInterval:    r.opts.Poll,
		FetchCooldown:        min(r.opts.Poll, river.FetchCooldownDefault),
		FetchOnlyKnownKinds:  true,
		JobTimeout:           -1, // conversions have their own limit; scans may rightly be long
		RescueStuckJobsAfter: 24 * time.Hour,
		MaxAttempts:          maxAttempts,
		RetryPolicy:          backoff{},
		Queues: map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: r.opts.Workers},
			queueTranscode:     {MaxWorkers: r.opts.TranscodeWorkers},
		},
		Workers:      ws,
		PeriodicJobs: periodic,
	})
}

// worker runs jobs of one kind: it times them, keeps their result as the
// job's output, and puts a job interrupted by a stop back in the queue
// (its attempt not counted).
type worker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	r  *Runner
	fn func(context.Context, *river.Job[T]) (any, error)
}

func (w *worker[T]) Work(ctx context.Context, j *river.Job[T]) error {
	start := time.Now()
	res, err := w.fn(ctx, j)
	w.r.met.observeJob(j.Kind, start)
	if ctx.Err() != nil {
		return river.JobSnooze(0) // stopping: resumed by the next start
	}
	if err != nil {
		w.r.log.Warn("jobs: attempt failed", "kind", j.Kind, "attempt", j.Attempt, "of", j.MaxAttempts, "err", err)
		return err
	}
	if res != nil {
		if err := river.RecordOutput(ctx, res); err != nil {
			w.r.log.Warn("jobs: record output", "kind", j.Kind, "err", err)
		}
	}
	return nil
}

// backoff retries a failed job after attempt² seconds (1 s, 4 s, 9 s, 16 s):
// a database restarting is back well within that, a file being copied is
// whole.
type backoff struct{}

func (backoff) NextRetry(j *rivertype.JobRow) time.Time {
	return time.Now().Add(time.Duration(j.Attempt*j.Attempt) * time.Second)
}

// never is the schedule of a rescan with no interval: at start only.
type never struct{}

func (never) Next(time.Time) time.Time { return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }

// warnOnly passes River's warnings and errors to our log, not its chatter.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// rescan queues a scan of every library, in one transaction.
func (r *Runner) rescan(ctx context.Context) (any, error) {
	if r.opts.Roots == nil {
		return nil, errors.New("rescan: no libraries configured in this process")
	}
	roots, err := r.opts.Roots(ctx)
	if err != nil {
		return nil, err
	}
	scans := make([]river.JobArgs, len(roots))
	for i, root := range roots {
		scans[i] = ScanJob(root)
	}
	return map[string]any{"libraries": len(roots)}, r.st.Enqueue(ctx, scans...)
}
