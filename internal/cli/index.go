package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"shoebox/internal/config"
	"shoebox/internal/jobs"
	"shoebox/internal/media"
	"shoebox/internal/storage"
)

// index runs one indexing pass: scan every library (the --library flags,
// or without them every library registered), process what is new,
// wait until the queue is empty, and report indexed / unchanged / failed.
func index(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	tty := isTerminal(os.Stdout)
	if tty {
		// Keep log lines from tearing the progress bar: warnings only.
		log = quietLogger(log)
	}
	a, err := openIndexing(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	runner := a.runner(nil, false)
	roots := cfg.Libraries
	if len(roots) == 0 { // every registered library (shoebox library add)
		if roots, err = a.registeredRoots(ctx); err != nil {
			return err
		}
		if len(roots) == 0 {
			return errors.New("no library to index: pass --library PATH (or set SHOEBOX_LIBRARY), or add one with shoebox library add PATH --owner NAME")
		}
	}
	for _, root := range roots {
		if err := runner.EnqueueScan(ctx, root); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); runner.Run(wctx) }()
	err = waitForQueue(ctx, a, runner, tty)
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	return report(ctx, a, runner)
}

// waitForQueue shows progress until no job is pending or running.
func waitForQueue(ctx context.Context, a *app, runner *jobs.Runner, tty bool) error {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	lastLine := time.Now()
	began := time.Now()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Println()
			}
			return errors.New("interrupted: the rest is resumed by the next index or serve")
		case <-t.C:
		}
		c, err := a.bg.CountJobs(ctx)
		if err != nil {
			a.log.Warn("count jobs", "err", err)
			continue
		}
		p := runner.Progress()
		done, total := p.Processed, p.Processed+c.Pending
		rate := float64(done) / time.Since(began).Seconds()
		switch {
		case tty:
			fmt.Printf("\r%s %d/%d photos  %.1f/s  (%d files scanned)  ", bar(done, total, 30), done, total, rate, p.Scanned)
		case time.Since(lastLine) >= 2*time.Second || c.Pending == 0:
			fmt.Printf("indexing: %d done, %d pending, %d files scanned, %.1f photos/s\n", done, c.Pending, p.Scanned, rate)
			lastLine = time.Now()
		}
		if c.Pending == 0 {
			if tty {
				fmt.Println()
			}
			return nil
		}
	}
}

func bar(done, total, width int) string {
	n := 0
	if total > 0 {
		n = done * width / total
	}
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// report prints the pass's counts and every file that could not be indexed.
// The counts are this process's own (the runner's): scan results read back
// from the jobs table by time would also take in a run that ended moments
// before.
func report(ctx context.Context, a *app, runner *jobs.Runner) error {
	p := runner.Progress()
	fails, err := a.bg.Failures(ctx, storage.Scope{}, 10000)
	if err != nil {
		return err
	}
	fmt.Printf("indexed %d, unchanged %d, failed %d\n", p.Processed-p.Failed, p.Unchanged, len(fails))
	if a.embed != nil {
		fmt.Printf("embedded %d with %s\n", p.Embedded, a.embed.Name())
	}
	for _, f := range fails {
		fmt.Printf("  failed: %s: %s\n", quote(f.RelPath), f.Reason)
	}
	return nil
}

// quote shows a file name on one line, whatever it contains.
func quote(s string) string {
	if strings.ContainsAny(s, "\n\r\t\x1b") {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// checkLibraries refuses library folders that don't exist, up front.
func checkLibraries(cfg *config.Config) error {
	for _, l := range cfg.Libraries {
		fi, err := os.Stat(l)
		if err != nil {
			return fmt.Errorf("library %s: %w", l, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("library %s: not a folder", l)
		}
	}
	return nil
}

// skip are the folders no library scan may index: the data folder (and so
// everything under it) and the embedded cluster, wherever it lives.
func (a *app) skip() []string {
	s := []string{a.cfg.DataDir}
	if a.cluster != nil {
		s = append(s, a.cluster.Root, a.cluster.SocketDir)
	}
	return s
}

// runner builds the job runner for this app; m (nil in the index command)
// counts its work for /metrics; rescan schedules the periodic rescan of
// every library (serve and worker; index scans once).
func (a *app) runner(m *jobs.Metrics, rescan bool) *jobs.Runner {
	return jobs.New(a.db, a.store, jobs.Options{
		Workers: a.cfg.Workers, Skip: a.skip(), StayInside: a.cfg.StayInside, MaxPixels: a.cfg.MaxPixels,
		Exclusive: a.owner && a.cfg.DatabaseURL == "", Logger: a.log, Embedder: a.embed, Metrics: m,
		Faces: a.cfg.Faces, ORTLib: a.cfg.ORTLib,
		TranscodeWorkers: a.cfg.TranscodeWorkers, Transcode: media.TranscodeOptions{TimeFactor: a.cfg.TranscodeLimit},
		Rescan: rescan, RescanInterval: a.cfg.RescanInterval, Roots: a.registeredRoots,
		Listen: true, // where the database gives a session (database.Session), else polls
	})
}
