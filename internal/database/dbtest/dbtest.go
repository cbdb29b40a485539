// Package dbtest gives tests a real PostgreSQL with pgvector: throwaway
// clusters started from the installed binaries (as the postgres user when
// we are root), fresh databases in a cluster shared by a package's tests,
// and transactions that are rolled back when a test ends (TestTx, after
// River's riverdbtest), so tests can run in parallel on one migrated
// database without seeing each other. Nothing is mocked.
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
	"shoebox/internal/storage"
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
	if txDB != nil {
		txDB.Close()
	}
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
	if err := adminExec(c, sql); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
}

func adminExec(c *database.Cluster, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

var (
	txOnce sync.Once
	txDB   *database.DB
	txErr  error
)

// TestTx returns a transaction on the package's migrated test database,
// rolled back when the test ends: whatever the test writes is gone after
// it, and tests in parallel (each in its own transaction) don't see each
// other's rows. Tests that need a commit (several connections, workers)
// use Open instead. Needs Main.
func TestTx(t testing.TB) pgx.Tx {
	t.Helper()
	c := Shared(t)
	txOnce.Do(func() {
		name := fmt.Sprintf("tx%d", os.Getpid())
		if txErr = adminExec(c, "CREATE DATABASE "+name); txErr != nil {
			return
		}
		ctx := context.Background()
		if txDB, txErr = database.Open(ctx, database.Options{URL: c.URL(name), MaxConns: 32}); txErr != nil {
			return
		}
		txErr = txDB.Migrate(ctx)
	})
	if txErr != nil {
		t.Fatalf("dbtest: test database: %v", txErr)
	}
	ctx := context.Background()
	tx, err := txDB.Pool.Begin(ctx)
	if err != nil {
		t.Fatalf("dbtest: begin: %v", err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return tx
}

// Storage returns a Storage inside TestTx: everything it writes is rolled
// back when the test ends.
func Storage(t testing.TB) *storage.Storage {
	t.Helper()
	return storage.InTx(TestTx(t))
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
