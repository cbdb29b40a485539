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
	go func() { defer wg.Done(); rescanLoop(ctx, a, runner.EnqueueScan) }()
	err = srv.Serve(ctx, cfg.Addr, func(addr string) {
		log.Info("serving", "url", "http://"+addr+"/", "libraries", cfg.Libraries, "budget", cfg.DBMaxConns)
		fmt.Printf("Shoebox is serving http://%s/\n", addr)
	})
	cancel()
	wg.Wait()
	return err
}

// rescanLoop enqueues a scan of every library now and then every
// RescanInterval, retrying while the database is unreachable.
func rescanLoop(ctx context.Context, a *app, enqueue func(context.Context, string) error) {
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
		wait := a.cfg.RescanInterval
		if !ok {
			wait = 5 * time.Second
		} else if wait <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
