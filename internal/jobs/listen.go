package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// River LISTENs (new jobs, leadership, queue controls) on one connection
// that it keeps for as long as it runs, which a pooler in transaction mode
// cannot give (see database.Session). riverpgxv5's listener takes that
// connection from the driver's own pool and hijacks it, and a hijacked
// connection leaves the pool, which may then open another in its place:
// one past the budget. So River's driver here is riverpgxv5's over the
// process's pool for everything but the listener, and the listener is ours:
// it holds its connection acquired from the session pool (the direct pool
// of one, or the process's own pool when that is PostgreSQL itself), so the
// connection stays counted there, and gives it back closed.
//
// When the connection is lost, River's notifier reconnects with a backoff
// and, meanwhile, every queue keeps polling each FetchPollInterval (River
// polls with a listener too, in case a notification is missed), so jobs
// keep running, only noticed later.

// listenDriver is riverpgxv5's driver with its listener on another pool.
type listenDriver struct {
	*riverpgxv5.Driver
	session *pgxpool.Pool
	hold    func(*pgxpool.Pool, int32) // counts the held connection (database.DB.HoldSession)
}

func (d listenDriver) GetListener(p *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &listener{pool: d.session, hold: d.hold, schema: p.Schema}
}

// listener is riverdriver.Listener over a connection held from pool.
type listener struct {
	pool *pgxpool.Pool
	hold func(*pgxpool.Pool, int32)

	mu     sync.Mutex // held while waiting, as riverpgxv5's: River interrupts the wait first
	conn   *pgxpool.Conn
	schema string
	prefix string // schema and a dot: channels are schema-qualified
	after  string // SetAfterConnectExec (River's tests)
}

func (l *listener) Connect(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		return errors.New("jobs: listener already connected")
	}
	c, err := l.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	if l.after != "" {
		if _, err := c.Exec(ctx, l.after); err != nil {
			c.Release()
			return err
		}
	}
	if l.schema == "" {
		if err := c.QueryRow(ctx, "SELECT coalesce(current_schema(), '')").Scan(&l.schema); err != nil {
			c.Release()
			return err
		}
	}
	l.prefix = ""
	if l.schema != "" {
		l.prefix = l.schema + "."
	}
	l.conn = c
	if l.hold != nil {
		l.hold(l.pool, 1)
	}
	return nil
}

// Close closes the connection (it may still LISTEN) and gives its place
// in the pool back.
func (l *listener) Close(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil
	}
	err := l.conn.Conn().Close(ctx)
	l.conn.Release() // a closed connection is destroyed, not reused
	l.conn = nil
	if l.hold != nil {
		l.hold(l.pool, -1)
	}
	return err
}

func (l *listener) Listen(ctx context.Context, topic string) error {
	return l.exec(ctx, `LISTEN "`+l.prefix+topic+`"`)
}

func (l *listener) Unlisten(ctx context.Context, topic string) error {
	return l.exec(ctx, `UNLISTEN "`+l.prefix+topic+`"`)
}

func (l *listener) exec(ctx context.Context, sql string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return errors.New("jobs: listener not connected")
	}
	_, err := l.conn.Exec(ctx, sql)
	return err
}

func (l *listener) Ping(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return errors.New("jobs: listener not connected")
	}
	return l.conn.Ping(ctx)
}

func (l *listener) Schema() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.schema
}

func (l *listener) SetAfterConnectExec(sql string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.after = sql
}

func (l *listener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil {
		return nil, errors.New("jobs: listener not connected")
	}
	n, err := l.conn.Conn().WaitForNotification(ctx)
	if err != nil {
		return nil, err
	}
	return &riverdriver.Notification{Topic: strings.TrimPrefix(n.Channel, l.prefix), Payload: n.Payload}, nil
}
