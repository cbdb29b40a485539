// Package dbtest gives tests a real PostgreSQL with pgvector: throwaway
// clusters started from the installed binaries (as the postgres user when
// we are root), and fresh databases in a cluster shared by a package's
// tests. Nothing is mocked.
package dbtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// StartCluster starts a new cluster with settings (e.g. max_connections)
// and stops and removes it when the test ends.
func StartCluster(t testing.TB, settings map[string]string) *database.Cluster {
	t.Helper()
	c, err := newCluster(settings)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { destroy(c) })
	return c
}

func newCluster(settings map[string]string) (*database.Cluster, error) {
	root, err := os.MkdirTemp("", "sbpg-")
	if err != nil {
		return nil, err
	}
	if settings == nil {
		settings = map[string]string{}
	}
	if _, ok := settings["fsync"]; !ok {
		settings["fsync"] = "off" // throwaway data: speed over durability
	}
	c, err := database.NewCluster(root, settings)
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Init(ctx); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("%w (is PostgreSQL installed? run scripts/setup.sh)", err)
	}
	if err := c.Start(ctx); err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return c, nil
}

func destroy(c *database.Cluster) {
	c.Kill(context.Background())
	os.RemoveAll(c.Root)
	os.RemoveAll(c.SocketDir)
}

var (
	sharedOnce sync.Once
	shared     *database.Cluster
	sharedErr  error
	dbCounter  atomic.Int64
)

// Main runs a package's tests and then stops the shared cluster, if one
// was started. Use it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		destroy(shared)
	}
	os.Exit(code)
}

// Shared returns the package's shared cluster (tests using it need Main).
func Shared(t testing.TB) *database.Cluster {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = newCluster(map[string]string{"max_connections": "200"}) })
	if sharedErr != nil {
		t.Fatalf("dbtest: shared cluster: %v", sharedErr)
	}
	return shared
}

// NewDatabase creates an empty database in the shared cluster, dropped when
// the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbCounter.Add(1))
	admin(t, c, "CREATE DATABASE "+name)
	t.Cleanup(func() { admin(t, c, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return c.URL(name)
}

// admin runs one statement on the cluster's maintenance database.
func admin(t testing.TB, c *database.Cluster, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("dbtest: %s: %v", sql, err)
	}
}

// Open returns a migrated pool on a fresh database, closed at the end.
func Open(t testing.TB, maxConns int) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: NewDatabase(t), MaxConns: maxConns, AcquireTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
