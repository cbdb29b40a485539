package cli

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"shoebox/internal/config"
	"shoebox/internal/jobs"
	"shoebox/internal/web"
)

// serve indexes the libraries in the background (at start and every
// rescan interval) and serves the gallery until interrupted.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := openIndexing(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	srv, err := web.New(a.db, a.st, a.store, a.embed, log)
	if err != nil {
		return err
	}
	runner := a.runner(jobs.NewMetrics(srv.Registerer()))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); runner.Run(ctx) }()
	nudge := make(chan struct{}, 1)
	srv.OnStaleOriginal(func() {
		select {
		case nudge <- struct{}{}:
		default: // one is pending already
		}
	})
	go func() { defer wg.Done(); rescanLoop(ctx, a, runner.EnqueueScan, nudge) }()
	err = srv.Serve(ctx, cfg.Addr, func(addr string) {
		log.Info("serving", "url", "http://"+addr+"/", "libraries", cfg.Libraries, "budget", cfg.DBMaxConns)
		fmt.Printf("Shoebox is serving http://%s/\n", addr)
	})
	cancel()
	wg.Wait()
	return err
}

// rescanLoop enqueues a scan of every library now, then every
// RescanInterval and whenever nudged (an original changed since it was
// indexed), retrying while the database is unreachable.
func rescanLoop(ctx context.Context, a *app, enqueue func(context.Context, string) error, nudge <-chan struct{}) {
	for {
		ok := true
		for _, root := range a.cfg.Libraries {
			if err := enqueue(ctx, root); err != nil {
				ok = false
				if ctx.Err() == nil {
					a.log.Warn("enqueue scan", "library", root, "err", err)
				}
			}
		}
		var next <-chan time.Time // nil: no periodic rescan
		if !ok {
			next = time.After(5 * time.Second)
		} else if a.cfg.RescanInterval > 0 {
			next = time.After(a.cfg.RescanInterval)
		}
		select {
		case <-ctx.Done():
			return
		case <-next:
		case <-nudge:
		}
	}
}
