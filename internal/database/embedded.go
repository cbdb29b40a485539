package database

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
)

// EmbeddedDB is the database name Shoebox uses in its own cluster: the one
// initdb makes, so no second connection is needed to create another.
const EmbeddedDB = "postgres"

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
		alt := filepath.Join("/var/lib/shoebox/clusters", hex.EncodeToString(sum[:8]))
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
