package database

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// EmbeddedDB is the database name Shoebox uses in its own cluster: the one
// initdb makes, so no second connection is needed to create another.
const EmbeddedDB = "postgres"

// altClusters holds the clusters of data folders the postgres user cannot
// reach.
const altClusters = "/var/lib/shoebox/clusters"

// StartEmbedded creates (once) and starts the cluster that lives under the
// data folder, and returns it; its URL is Cluster.URL(EmbeddedDB). When we
// run as root and the data folder is not reachable by the postgres user
// (say, under /root), the cluster lives in /var/lib/shoebox instead.
func StartEmbedded(ctx context.Context, dataDir string, log *slog.Logger) (*Cluster, error) {
	root := filepath.Join(dataDir, "pg")
	c, err := NewCluster(root, map[string]string{"max_connections": "100", "shared_buffers": "128MB", "fsync": "on"})
	if err != nil {
		return nil, err
	}
	if !c.ReachableBy(dataDir) {
		sum := sha256.Sum256([]byte(dataDir))
		alt := filepath.Join(altClusters, hex.EncodeToString(sum[:8]))
		// A release made these two folders 0700, which the postgres user
		// cannot traverse: open them (the clusters inside stay private).
		for _, d := range []string{filepath.Dir(altClusters), altClusters} {
			if fi, err := os.Stat(d); err == nil && fi.IsDir() && fi.Mode().Perm()&0o011 != 0o011 {
				if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
					return nil, fmt.Errorf("embedded database: %w", err)
				}
			}
		}
		log.Warn("data folder is not reachable by the postgres user; the embedded cluster lives elsewhere",
			"data", dataDir, "cluster", alt)
		if c, err = NewCluster(alt, c.Settings); err != nil {
			return nil, err
		}
	}
	if err := c.Init(ctx); err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("embedded database: %w", err)
	}
	log.Info("embedded PostgreSQL running", "dir", c.DataDir(), "socket", c.SocketDir)
	return c, nil
}

// Watch keeps the embedded cluster running for as long as ctx lives: if the
// postmaster dies (a SIGKILL, the OOM killer), Shoebox would otherwise
// answer 503 until someone restarts it by hand. It checks every second; a
// death is logged once at ERROR, and restarts are tried with a backoff from
// 1s to 30s (the old server's children may hold its shared memory for a
// moment). Only the process that owns the cluster (holds the data-folder
// lock) should watch it.
func (c *Cluster) Watch(ctx context.Context, log *slog.Logger) {
	const (
		every      = time.Second
		maxBackoff = 30 * time.Second
	)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.Running(ctx) {
			continue
		}
		down := time.Now()
		log.Error("embedded PostgreSQL is not running; restarting it", "dir", c.DataDir(), "log", filepath.Join(c.Root, "postgres.log"))
		backoff := every
		for attempt := 1; ; attempt++ {
			err := c.Start(ctx)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				log.Info("embedded PostgreSQL restarted", "attempts", attempt, "down", time.Since(down).Round(time.Millisecond))
				break
			}
			log.Warn("restart embedded PostgreSQL", "attempt", attempt, "retry_in", backoff, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}
}
