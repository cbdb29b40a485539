package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"shoebox/internal/ai"
	"shoebox/internal/config"
	"shoebox/internal/database"
	"shoebox/internal/jobs"
	"shoebox/internal/media"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// app is what every command opens: the data folder (locked), the database
// (embedded or DATABASE_URL) with its migrations applied, and storage.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	db      *database.DB
	st      *storage.Storage // foreground: page requests
	bg      *storage.Storage // background share: indexing
	store   thumbs.Store
	budget  database.Budget
	owner   bool // we hold the data-folder lock
	cluster *database.Cluster
	stopPG  bool   // stop the embedded cluster on close
	unwatch func() // stops restarting the embedded cluster
	unlock  func()
	embed   ai.Embedder // nil without a model
}

// openApp starts what a command needs. exclusive commands (serve, index)
// must own the data folder; others (stats, doctor) may share it with a
// running server.
func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger, exclusive bool) (*app, error) {
	a := &app{cfg: cfg, log: log, store: thumbs.Store{Dir: cfg.ThumbDir()}, unlock: func() {}, unwatch: func() {}}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	unlock, holder, err := lockDataDir(cfg.DataDir)
	switch {
	case err == nil:
		a.owner, a.unlock = true, unlock
	case errors.Is(err, errLocked) && exclusive:
		return nil, fmt.Errorf("another shoebox (pid %s) is already using data folder %s; stop it first, or use another --data", holder, cfg.DataDir)
	case errors.Is(err, errLocked):
	default:
		return nil, err
	}
	if exclusive { // the commands that index or serve media
		if a.store, err = openMedia(ctx, cfg, cfg.MediaCacheDir()); err != nil {
			a.close()
			return nil, err
		}
	}
	url := cfg.DatabaseURL
	if url == "" {
		c, err := database.StartEmbedded(ctx, cfg.DataDir, log)
		if err != nil {
			a.close()
			return nil, err
		}
		a.cluster, a.stopPG = c, a.owner
		url = c.URL(database.EmbeddedDB)
		if a.owner {
			// The cluster is ours: if it dies, bring it back.
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); c.Watch(wctx, log) }()
			a.unwatch = func() { cancel(); <-done }
		}
	}
	// Only a process that runs jobs (serve, worker, index; not serve
	// --no-index) keeps a connection of its budget on the direct URL, for
	// River's LISTEN.
	direct := ""
	if exclusive && !cfg.NoIndex {
		direct = cfg.DirectDatabaseURL
	}
	db, err := database.Open(ctx, database.Options{
		URL: url, MaxConns: cfg.DBMaxConns, AcquireTimeout: cfg.AcquireTimeout,
		StatementTimeout: cfg.StatementTimeout, Pooler: cfg.DBPooler, DirectURL: direct, Logger: log,
	})
	if err != nil {
		a.close()
		return nil, err
	}
	a.db = db
	if err := db.Migrate(ctx); err != nil {
		a.close()
		return nil, err
	}
	a.st, a.bg = storage.New(db), storage.New(db.Background())
	if err := jobs.CarryOver(ctx, a.bg, log); err != nil {
		a.close()
		return nil, err
	}
	if a.budget, err = db.CheckBudget(ctx); err != nil {
		a.close()
		return nil, err
	}
	if !a.budget.Fits() {
		log.Warn("connection budget does not fit the server: lower SHOEBOX_DB_MAX_CONNS or raise max_connections",
			"detail", a.budget.String())
	} else {
		log.Info("database ready", "detail", a.budget.String())
	}
	return a, nil
}

// openIndexing is the start-up serve and index share: libvips, the
// libraries, the data folder (owned) and database, and the CLIP model when
// one is configured.
func openIndexing(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	if err := media.Init(); err != nil {
		return nil, err
	}
	if err := checkLibraries(cfg); err != nil {
		return nil, err
	}
	a, err := openApp(ctx, cfg, log, true)
	if err != nil {
		return nil, err
	}
	if err := a.openEmbedder(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

// openEmbedder loads the CLIP model (or connects to the remote service)
// when one is configured; without one Shoebox works, minus search by meaning.
func (a *app) openEmbedder(ctx context.Context) error {
	switch {
	case a.cfg.ClipModel != "":
		if _, err := os.Stat(a.cfg.ClipModel); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clip model: no folder %s (to install a model by name: shoebox model get NAME, then SHOEBOX_CLIP_MODEL=NAME)", a.cfg.ClipModel)
		}
		l, err := ai.OpenLocal(a.cfg.ClipModel, a.cfg.ORTLib, a.cfg.Workers)
		if err != nil {
			return fmt.Errorf("clip model: %w", err)
		}
		a.embed = l
	case a.cfg.MLURL != "":
		r, err := ai.OpenRemote(ctx, a.cfg.MLURL, a.cfg.MLModel)
		if err != nil {
			return fmt.Errorf("machine-learning service: %w", err)
		}
		a.embed = r
	default:
		return nil
	}
	if a.embed.Dim() == 0 { // a remote service: ask once to learn the dimension
		if _, err := a.embed.EmbedText(ctx, "a photo"); err != nil {
			return fmt.Errorf("machine-learning service: %w", err)
		}
	}
	// The vector column takes the model's dimension before anything is
	// searched or saved (a new dimension drops vectors that no longer fit).
	if err := a.bg.EnsureVectorIndex(ctx, a.embed.Dim()); err != nil {
		return err
	}
	a.log.Info("search by meaning ready", "model", a.embed.Describe())
	return nil
}

func (a *app) close() {
	a.unwatch()
	if a.embed != nil {
		a.embed.Close()
	}
	if a.db != nil {
		a.db.Close()
	}
	if a.cluster != nil && a.stopPG {
		if err := a.cluster.Stop(context.Background()); err != nil {
			a.log.Warn("stop embedded database", "err", err)
		}
	}
	a.unlock()
}

var errLocked = errors.New("data folder locked")

// lockDataDir takes an exclusive lock on the data folder for the life of
// the process; the kernel drops it if we die, so a kill -9 never leaves a
// stale lock. It returns the holder's pid when the lock is taken.
func lockDataDir(dir string) (unlock func(), holder string, err error) {
	p := filepath.Join(dir, "shoebox.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("data folder lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(p)
		f.Close()
		return nil, strings.TrimSpace(string(b)), errLocked
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() { f.Close() }, "", nil
}
