package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"shoebox/internal/config"
	"shoebox/internal/jobs"
	"shoebox/internal/library"
	"shoebox/internal/media"
	"shoebox/internal/web"
)

// serve serves the gallery until interrupted and, unless --no-index, runs
// the jobs too (as `shoebox worker` does): scans at start and every rescan
// interval, processing, embedding, conversions. With --no-index it runs no
// job but still queues them (uploads, library scans, a rescan when an
// original changed), for the workers on the same database.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	a, err := openIndexing(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	if err := checkExposure(ctx, a); err != nil {
		return err
	}
	srv, err := web.New(a.db, a.st, a.store, a.embed, log)
	if err != nil {
		return err
	}
	srv.SetAccess(web.Access{Listen: cfg.Addr, AllowedHosts: cfg.AllowedHosts, TrustedProxies: cfg.TrustedProxies})
	srv.SetMap(web.MapOptions{Tiles: cfg.MapTiles, Attribution: cfg.MapAttribution})
	uo := web.UploadOptions{Dir: cfg.UploadDir(), MaxBytes: cfg.UploadMaxBytes,
		Quota: cfg.UploadQuotaBytes, Media: media.Options{MaxPixels: cfg.MaxPixels}}
	if cfg.UploadsOnS3() {
		uo.Bucket = a.store.Cache().Bucket()
	}
	if err := srv.SetUploads(uo); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if !cfg.NoIndex {
		runner := a.runner(jobs.NewMetrics(srv.Registerer()), true)
		wg.Add(1)
		go func() { defer wg.Done(); runner.Run(ctx) }()
	}
	nudge := make(chan struct{}, 1)
	srv.OnStaleOriginal(func() {
		select {
		case nudge <- struct{}{}:
		default: // one is pending already
		}
	})
	wg.Add(1)
	go func() { defer wg.Done(); queueScans(ctx, a, nudge) }()
	err = srv.Serve(ctx, cfg.Addr, func(addr string) {
		log.Info("serving", "url", "http://"+addr+"/", "libraries", cfg.Libraries, "budget", cfg.DBMaxConns, "indexing", !cfg.NoIndex)
		fmt.Printf("Shoebox is serving http://%s/\n", addr)
	})
	cancel()
	wg.Wait()
	return err
}

// checkExposure refuses to serve on an address other machines can reach
// while no account exists: the library would be open to the network.
func checkExposure(ctx context.Context, a *app) error {
	host, _, _ := net.SplitHostPort(a.cfg.Addr)
	if ip, err := netip.ParseAddr(host); host == "localhost" || err == nil && ip.IsLoopback() {
		return nil
	}
	has, err := a.st.HasUsers(ctx)
	if err != nil {
		return fmt.Errorf("cannot tell whether an account exists, so not listening on %s: %w", a.cfg.Addr, err)
	}
	if !has {
		return fmt.Errorf("no account exists, so Shoebox will not listen on %s (reachable from other machines): "+
			"create one first with\n  shoebox user add NAME --admin --password-stdin\n"+
			"or listen on a loopback address (--addr 127.0.0.1:8080)", a.cfg.Addr)
	}
	return nil
}

// queueScans queues a scan of this process's --library folders at start
// (registered libraries are rescanned by the workers' periodic rescan,
// once for the deployment) and a rescan whenever nudged (an original
// changed since it was indexed), retrying while the database is
// unreachable. Queueing is all it does: whichever worker runs the queue
// scans.
func queueScans(ctx context.Context, a *app, nudge <-chan struct{}) {
	todo := slices.Clone(a.cfg.Libraries)
	for {
		var retry <-chan time.Time
		if len(todo) > 0 {
			scans := make([]river.JobArgs, len(todo))
			for i, root := range todo {
				scans[i] = jobs.ScanJob(root)
			}
			if err := a.bg.Enqueue(ctx, scans...); err != nil {
				if ctx.Err() == nil {
					a.log.Warn("enqueue scans", "libraries", todo, "err", err)
				}
				retry = time.After(5 * time.Second)
			} else {
				todo = nil
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-retry:
		case <-nudge:
			if err := a.bg.Enqueue(ctx, jobs.RescanJob()); err != nil && ctx.Err() == nil {
				a.log.Warn("enqueue rescan", "err", err)
			}
		}
	}
}

// registeredRoots are the folders to scan: the --library flags, then every
// library registered in the database. A registered folder that is gone
// (an unplugged disk) is left out with a warning: a scan would find
// nothing there, which is not a deletion. An upload library on S3 is
// scanned where media are on S3 (the bucket is checked at start).
func (a *app) registeredRoots(ctx context.Context) ([]string, error) {
	all := slices.Clone(a.cfg.Libraries)
	roots, err := a.st.LibraryRoots(ctx)
	for _, root := range roots {
		if slices.Contains(all, root) {
			continue
		}
		if library.IsObjects(root) {
			if a.store.Cache() == nil {
				a.log.Warn("library on S3 but media are not (SHOEBOX_MEDIA_URL); not scanned", "library", root)
				continue
			}
			all = append(all, root)
			continue
		}
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			a.log.Warn("library folder missing; not scanned", "library", root)
			continue
		}
		all = append(all, root)
	}
	return all, err
}
