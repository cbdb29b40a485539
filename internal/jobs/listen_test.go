package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/jobs"
	"shoebox/internal/thumbs"
)

// directApp is the application_name of the test's direct URL, so the
// server tells its sessions from those PgBouncer opens.
const directApp = "shoebox-direct"

// Through a real PgBouncer in transaction mode, with
// SHOEBOX_DIRECT_DATABASE_URL set: River listens on exactly one session,
// the direct one, taken out of the budget (the pool gets one less, and the
// server never sees more of the process than the budget), and a job
// inserted is run at once although the queue polls only every hour: it was
// woken by NOTIFY.
func TestRiverListensOnDirectURLThroughPgBouncer(t *testing.T) {
	ctx := context.Background()
	c, name, pgb := pgbouncerDatabase(t)
	proxy := startDirectProxy(t, c)
	const budget = 4
	db := openPooled(t, pgb.URL(name), proxy.url(t, c, name), budget)
	if got := db.Pool.Config().MaxConns; got != budget-1 {
		t.Fatalf("pool of %d with a direct URL, want the budget less one (%d)", got, budget-1)
	}
	w := watchSessions(t, c, name)
	r := jobs.New(db, thumbs.Store{Dir: t.TempDir()}, jobs.Options{Workers: 1, Poll: time.Hour, Listen: true, Logger: quiet()})
	stop := runRunner(t, r)
	defer stop()
	waitFor(t, "River to start listening", r.Listening)

	// The one session of the process that came over the direct URL is
	// River's listener, and its last statement was a LISTEN (or the ping
	// River sends every 5 s while nothing arrives).
	sessions := directSessions(t, c, name)
	if len(sessions) != 1 || !strings.HasPrefix(sessions[0], "LISTEN") && sessions[0] != "-- ping" {
		t.Fatalf("direct sessions %q, want one LISTENing", sessions)
	}

	if err := r.EnqueueScan(ctx, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scan, woken by NOTIFY (the queue polls only every hour)", func() bool {
		return countRows(t, db, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND state = 'completed'`) == 1
	})
	peak, listeners := w.stop()
	if len(listeners) != 1 {
		t.Fatalf("sessions seen running LISTEN: %v, want exactly one", listeners)
	}
	for pid, app := range listeners {
		if app != directApp {
			t.Fatalf("session %d LISTENed with application_name %q: not over the direct URL", pid, app)
		}
	}
	if peak > budget {
		t.Fatalf("the server saw %d sessions of the process at once, budget %d", peak, budget)
	}
	t.Logf("peak server sessions %d (budget %d, PgBouncer pool 8)", peak, budget)
}

// Through PgBouncer without a direct URL: nothing LISTENs (a LISTEN
// through a pooler in transaction mode would run on whichever server
// connection is free and be lost), and jobs still run, by polling.
func TestRiverPollsThroughPgBouncerWithoutDirectURL(t *testing.T) {
	ctx := context.Background()
	c, name, pgb := pgbouncerDatabase(t)
	const budget = 4
	db := openPooled(t, pgb.URL(name), "", budget)
	if got := db.Pool.Config().MaxConns; got != budget {
		t.Fatalf("pool of %d without a direct URL, want the whole budget %d", got, budget)
	}
	if p, why := db.Session(); p != nil {
		t.Fatalf("a session offered through PgBouncer without a direct URL: %s", why)
	}
	w := watchSessions(t, c, name)
	r := jobs.New(db, thumbs.Store{Dir: t.TempDir()}, jobs.Options{Workers: 1, Poll: 50 * time.Millisecond, Listen: true, Logger: quiet()})
	stop := runRunner(t, r)
	defer stop()
	if err := r.EnqueueScan(ctx, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scan, found by polling", func() bool {
		return countRows(t, db, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND state = 'completed'`) == 1
	})
	if r.Listening() {
		t.Fatal("River says it listens through PgBouncer without a direct URL")
	}
	peak, listeners := w.stop()
	if len(listeners) != 0 {
		t.Fatalf("sessions seen running LISTEN through PgBouncer: %v", listeners)
	}
	if peak > budget {
		t.Fatalf("the server saw %d sessions of the process at once, budget %d", peak, budget)
	}
}

// The direct connection lost (the network to it cut, so River cannot
// connect again): River keeps running jobs by polling, and nothing stops.
func TestRiverPollsOnWhenTheDirectURLIsLost(t *testing.T) {
	ctx := context.Background()
	c, name, pgb := pgbouncerDatabase(t)
	proxy := startDirectProxy(t, c)
	db := openPooled(t, pgb.URL(name), proxy.url(t, c, name), 4)
	r := jobs.New(db, thumbs.Store{Dir: t.TempDir()}, jobs.Options{Workers: 1, Poll: 100 * time.Millisecond, Listen: true, Logger: quiet()})
	done := make(chan struct{})
	rctx, cancel := context.WithCancel(ctx)
	go func() { r.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "River to start listening", r.Listening)
	proxy.cut()
	waitFor(t, "the direct session to end on the server", func() bool { return len(directSessions(t, c, name)) == 0 })
	if err := r.EnqueueScan(ctx, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scan, found by polling without the listener", func() bool {
		return countRows(t, db, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND state = 'completed'`) == 1
	})
	select {
	case <-done:
		t.Fatal("the runner stopped when its direct connection was lost")
	default:
	}
	if n := len(directSessions(t, c, name)); n != 0 {
		t.Fatalf("%d direct sessions through a cut network", n)
	}
}

// DATABASE_URL is PostgreSQL itself and no direct URL is given: River
// listens on one of the pool's own connections, held (not hijacked, which
// would let the pool open another past the budget), so the process still
// never holds more than its budget; a budget of 2 cannot spare one and
// polls.
func TestRiverListensOnThePoolOfPostgreSQLItself(t *testing.T) {
	ctx := context.Background()
	if p, _ := dbtest.Open(t, 2).Session(); p != nil {
		t.Fatal("a budget of 2 spared a connection to listen on")
	}
	const budget = 3
	db := dbtest.Open(t, budget)
	if p, why := db.Session(); p != db.Pool {
		t.Fatalf("PostgreSQL itself: session %v (%s), want the pool", p, why)
	}
	name := db.Pool.Config().ConnConfig.Database
	c := dbtest.Shared(t)
	w := watchSessions(t, c, name)
	r := jobs.New(db, thumbs.Store{Dir: t.TempDir()}, jobs.Options{Workers: 2, Poll: time.Hour, Listen: true, Logger: quiet()})
	stop := runRunner(t, r)
	defer stop()
	waitFor(t, "River to start listening", r.Listening)
	if err := r.EnqueueScan(ctx, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scan, woken by NOTIFY (the queue polls only every hour)", func() bool {
		return countRows(t, db, `SELECT count(*) FROM river_job WHERE kind = 'scan' AND state = 'completed'`) == 1
	})
	// The listener's connection is one of the pool's: with the rest taken,
	// the pool is full.
	var held []*pgxpool.Conn
	for range budget - 1 {
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, conn)
	}
	s := db.Pool.Stat()
	for _, conn := range held {
		conn.Release()
	}
	if s.AcquiredConns() != budget || s.TotalConns() != budget {
		t.Fatalf("with %d taken, the pool has %d of %d connections acquired: the listener's is not counted in it",
			budget-1, s.AcquiredConns(), s.TotalConns())
	}
	peak, listeners := w.stop()
	if len(listeners) != 1 {
		t.Fatalf("sessions seen running LISTEN: %v, want exactly one", listeners)
	}
	if peak > budget {
		t.Fatalf("the server saw %d sessions of the process at once, budget %d", peak, budget)
	}
	if n := db.Stats().TotalConns; n > budget {
		t.Fatalf("the pool holds %d connections, budget %d", n, budget)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// pgbouncerDatabase is a fresh database of the shared cluster and a real
// PgBouncer (transaction mode, a pool of 8: more than any budget here, so
// the process's own budget is what bounds its server sessions).
func pgbouncerDatabase(t *testing.T) (*database.Cluster, string, *dbtest.PgBouncer) {
	t.Helper()
	c := dbtest.Shared(t)
	u, err := url.Parse(dbtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	return c, strings.TrimPrefix(u.Path, "/"), dbtest.StartPgBouncer(t, c, dbtest.PgBouncerOptions{PoolSize: 8})
}

// openPooled opens and migrates the database through PgBouncer (u), with
// direct as SHOEBOX_DIRECT_DATABASE_URL.
func openPooled(t *testing.T, u, direct string, budget int) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: u, DirectURL: direct, MaxConns: budget, AcquireTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if pooled, known, why := db.Pooler(); !known || !pooled {
		t.Fatalf("PgBouncer not recognised: %s", why)
	}
	return db
}

func runRunner(t *testing.T, r *jobs.Runner) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// waitFor waits for cond, failing the test if it does not hold within a
// minute (far less than the hour a poll-only queue would take in the
// first test, and far more than a notification or a poll needs).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countRows(t *testing.T, db *database.DB, sql string) int {
	t.Helper()
	var n int
	err := db.Do(context.Background(), func(q database.Querier) error { return q.QueryRow(context.Background(), sql).Scan(&n) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func adminConn(t *testing.T, c *database.Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// directSessions are the last statements of the server's sessions of
// database name that came over the direct URL (by its application_name).
func directSessions(t *testing.T, c *database.Cluster, name string) []string {
	t.Helper()
	ctx := context.Background()
	conn := adminConn(t, c)
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT query FROM pg_stat_activity
		WHERE datname = $1 AND backend_type = 'client backend' AND application_name = $2`, name, directApp)
	qs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

// sessionWatch samples the server's sessions of a database every 20 ms.
type sessionWatch struct {
	mu        sync.Mutex
	peak      int
	listeners map[int32]string // pid → application_name of each seen running LISTEN
	err       error
	quit      chan struct{}
	done      chan struct{}
}

func watchSessions(t *testing.T, c *database.Cluster, name string) *sessionWatch {
	t.Helper()
	conn := adminConn(t, c)
	w := &sessionWatch{listeners: map[int32]string{}, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer conn.Close(context.Background())
		for {
			w.sample(conn, name)
			select {
			case <-w.quit:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *sessionWatch) sample(conn *pgx.Conn, name string) {
	ctx := context.Background()
	rows, _ := conn.Query(ctx, `SELECT pid, coalesce(application_name, ''), query LIKE 'LISTEN%'
		FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, name)
	n := 0
	var pid int32
	var app string
	var listening bool
	_, err := pgx.ForEachRow(rows, []any{&pid, &app, &listening}, func() error {
		n++
		if listening {
			w.mu.Lock()
			w.listeners[pid] = app
			w.mu.Unlock()
		}
		return nil
	})
	w.mu.Lock()
	w.peak = max(w.peak, n)
	if err != nil && w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

// stop ends the sampling (it has sampled at least once) and returns what
// it saw.
func (w *sessionWatch) stop() (peak int, listeners map[int32]string) {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		panic(fmt.Sprint("session watch: ", w.err))
	}
	return w.peak, w.listeners
}

// directProxy stands for the network to PostgreSQL itself: a loopback
// port forwarded to the cluster's unix socket, which the test can cut.
type directProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	cutOff bool
}

func startDirectProxy(t *testing.T, c *database.Cluster) *directProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &directProxy{ln: ln}
	sock := filepath.Join(c.SocketDir, fmt.Sprintf(".s.PGSQL.%d", c.Port))
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("unix", sock)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			if p.cutOff {
				in.Close()
				out.Close()
			}
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

// url is the direct URL of database name through the proxy.
func (p *directProxy) url(t *testing.T, c *database.Cluster, name string) string {
	t.Helper()
	u, err := url.Parse(c.URL(name))
	if err != nil {
		t.Fatal(err)
	}
	q := url.Values{"sslmode": {"disable"}, "application_name": {directApp}}
	return (&url.URL{Scheme: "postgres", User: url.UserPassword(database.ClusterUser, u.Query().Get("password")),
		Host: p.ln.Addr().String(), Path: "/" + name, RawQuery: q.Encode()}).String()
}

// cut closes the port and every connection through it.
func (p *directProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOff = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}
