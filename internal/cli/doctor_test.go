package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"shoebox/internal/config"
	"shoebox/internal/database/dbtest"
)

// Through PgBouncer with SHOEBOX_DIRECT_DATABASE_URL: a process that runs
// jobs keeps one connection of its budget for the direct URL (its pool
// gets one less), one that runs none (serve --no-index) keeps the whole
// budget for its pool, and doctor says that the queue listens there.
func TestDirectURLTakesOneOfTheBudget(t *testing.T) {
	ctx := context.Background()
	c := dbtest.StartCluster(t, nil)
	pgb := dbtest.StartPgBouncer(t, c, dbtest.PgBouncerOptions{PoolSize: 4})
	env := map[string]string{
		"DATABASE_URL":                pgb.URL("postgres"),
		"SHOEBOX_DIRECT_DATABASE_URL": c.URL("postgres"),
		"SHOEBOX_DB_MAX_CONNS":        "4",
	}
	cfg, err := config.Parse("shoebox", []string{"--data", t.TempDir()}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, noIndex := range []bool{false, true} {
		cfg.NoIndex = noIndex
		a, err := openApp(ctx, cfg, log, true)
		if err != nil {
			t.Fatal(err)
		}
		pool, where := a.db.Session()
		size := a.db.Pool.Config().MaxConns
		a.close()
		switch {
		case !noIndex && (size != 3 || pool == nil):
			t.Fatalf("runs jobs: pool %d, session %v (%s); want 3 and the direct connection", size, pool, where)
		case noIndex && (size != 4 || pool != nil):
			t.Fatalf("--no-index: pool %d, session %v (%s); want the whole budget and none", size, pool, where)
		}
	}
	cfg.NoIndex = false
	out := captureStdout(t, func() { doctor(ctx, cfg, log) })
	t.Log(out)
	if !strings.Contains(out, "ok   direct database") || !strings.Contains(out, "LISTENs there on 1 connection of the budget of 4") {
		t.Fatalf("doctor does not say the queue listens on the direct URL:\n%s", out)
	}
}

func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() { b, _ := io.ReadAll(r); done <- string(b) }()
	defer func() { os.Stdout = old }()
	fn()
	w.Close()
	os.Stdout = old
	return <-done
}
