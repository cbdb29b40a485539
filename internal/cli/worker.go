package cli

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"shoebox/internal/config"
)

// worker only runs jobs: scans (this process's --library folders at start,
// and every library at start and every rescan interval, scheduled once for
// the whole deployment by the elected leader), processing, embedding,
// conversions and the trash's emptying. It serves nothing. Any number of
// workers and `serve --no-index` processes share one database, each within
// its own connection budget.
func worker(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := openIndexing(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	runner := a.runner(nil, true)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); queueScans(ctx, a, nil) }()
	log.Info("worker running", "id", runner.ID(), "libraries", cfg.Libraries, "budget", cfg.DBMaxConns)
	fmt.Printf("Shoebox worker %s is running jobs\n", runner.ID())
	err = runner.Run(ctx)
	cancel()
	wg.Wait()
	return err
}
