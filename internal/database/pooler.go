package database

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Pooler modes (SHOEBOX_DB_POOLER).
const (
	PoolerAuto        = "auto"        // find out at the first connection
	PoolerNone        = "none"        // DATABASE_URL is PostgreSQL itself
	PoolerTransaction = "transaction" // a pooler that may change server connection between transactions (PgBouncer pool_mode=transaction)
)

// A pooler in transaction mode (PgBouncer, as Debian 12 ships it: 1.18)
// hands each transaction — each statement outside one — to whichever server
// connection is free. What lives in a server session is then unsafe:
//
//   - named prepared statements (pgx's default QueryExecModeCacheStatement):
//     PgBouncer 1.18 does not track them in transaction mode (1.21 can, with
//     max_prepared_statements), so a statement prepared on one server
//     connection is missing on the next. Behind a pooler Shoebox uses
//     QueryExecModeCacheDescribe instead: the unnamed statement, parsed,
//     bound and executed in one round trip (one Sync), with the parameter
//     and result types described once and cached, so pgvector's vector
//     type and every other type keep their binary encoding. It works the
//     same on PgBouncer 1.18 and on newer versions, so Shoebox need not know
//     which one it talks to. Its one caveat (a cached description goes stale
//     if the schema changes under a running process) is met by running
//     migrations before any query.
//   - startup parameters: PgBouncer refuses the ones it does not know
//     (statement_timeout, lock_timeout, idle_in_transaction_session_timeout)
//     with "unsupported startup parameter". Behind a pooler Shoebox sends
//     only application_name; the timeouts belong to the server's role
//     settings (ALTER ROLE ... SET statement_timeout) and to PgBouncer's own
//     query_timeout / idle_transaction_timeout, which `shoebox doctor`
//     reports, and every acquire keeps its deadline here.
//   - LISTEN and session advisory locks: Shoebox uses neither through the
//     pool (migrations lock with pg_advisory_xact_lock, which ends with its
//     transaction); the job queue polls, or listens on
//     SHOEBOX_DIRECT_DATABASE_URL when one is given.
//
// Auto mode learns which it is at the first connection over TCP: a server
// that refuses our startup parameters, or answers from a port other than
// the one we dialled, is a pooler (or a proxy: the pooled settings are
// correct for either). That costs one extra connection, once, before any
// other. A unix socket is taken for PostgreSQL itself (the embedded cluster,
// a local server); a pooler on a socket needs SHOEBOX_DB_POOLER=transaction.
type pooler struct {
	mode string // PoolerAuto until learned

	mu     sync.Mutex
	pooled bool
	known  bool
	why    string
}

// sessionParams are the startup parameters a pooler may refuse.
var sessionParams = []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"}

func newPooler(mode string) (*pooler, error) {
	p := &pooler{mode: mode}
	switch mode {
	case "", PoolerAuto:
		p.mode = PoolerAuto
	case PoolerNone:
		p.known, p.why = true, "SHOEBOX_DB_POOLER=none"
	case PoolerTransaction, "pgbouncer":
		p.known, p.pooled, p.why = true, true, "SHOEBOX_DB_POOLER="+mode
	default:
		return nil, fmt.Errorf("database: SHOEBOX_DB_POOLER=%q: want auto, none or transaction", mode)
	}
	return p, nil
}

// beforeConnect adapts each new connection's settings to what sits behind
// DATABASE_URL, probing once (under the lock, so no other connection of ours
// is being opened meanwhile and the probe stays within the budget).
func (p *pooler) beforeConnect(ctx context.Context, cc *pgx.ConnConfig) error {
	p.mu.Lock()
	if !p.known && strings.HasPrefix(cc.Host, "/") {
		p.known, p.why = true, "a unix socket, taken for PostgreSQL itself"
	}
	if !p.known {
		pooled, why, err := probe(ctx, cc)
		if err != nil {
			p.mu.Unlock()
			return err
		}
		p.pooled, p.why, p.known = pooled, why, true
	}
	pooled := p.pooled
	p.mu.Unlock()
	if pooled {
		for _, k := range sessionParams {
			delete(cc.RuntimeParams, k)
		}
		cc.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
		cc.StatementCacheCapacity = 0
		cc.DescriptionCacheCapacity = 512
	}
	return nil
}

// probe connects once with our startup parameters and asks the server
// which port it listens on.
func probe(ctx context.Context, cc *pgx.ConnConfig) (bool, string, error) {
	c, err := pgconn.ConnectConfig(ctx, &cc.Config)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && strings.Contains(pe.Message, "unsupported startup parameter") {
			return true, "the server refused a startup parameter (" + pe.Message + "): a pooler such as PgBouncer", nil
		}
		return false, "", err
	}
	defer c.Close(context.Background())
	res := c.ExecParams(ctx, `SELECT current_setting('port')`, nil, nil, nil, nil).Read()
	if res.Err != nil || len(res.Rows) != 1 {
		return false, "", fmt.Errorf("database: probe: %w", res.Err)
	}
	port, _ := strconv.Atoi(string(res.Rows[0][0]))
	if host := c.Conn().RemoteAddr(); port != 0 && int(cc.Port) != port {
		return true, fmt.Sprintf("DATABASE_URL dials port %d but the server listens on %d (%s): a pooler or proxy in between", cc.Port, port, host), nil
	}
	return false, "PostgreSQL itself", nil
}

// Pooler says whether DATABASE_URL leads through a pooler and how that was
// learned; known is false until the first connection.
func (db *DB) Pooler() (pooled, known bool, why string) {
	db.pooler.mu.Lock()
	defer db.pooler.mu.Unlock()
	return db.pooler.pooled, db.pooler.known, db.pooler.why
}

// Setting reads a server setting as this process's connections see it.
func (db *DB) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := db.Do(ctx, func(q Querier) error {
		return q.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v)
	})
	return v, err
}

// CheckDirect connects once to a direct URL (SHOEBOX_DIRECT_DATABASE_URL)
// and says whether it reaches PostgreSQL itself, not a pooler.
func CheckDirect(ctx context.Context, url string) (string, error) {
	cc, err := pgx.ParseConfig(url)
	if err != nil {
		return "", fmt.Errorf("database: parse SHOEBOX_DIRECT_DATABASE_URL: %w", err)
	}
	cc.ConnectTimeout = 5 * time.Second
	cc.RuntimeParams["application_name"] = "shoebox"
	cc.RuntimeParams["statement_timeout"] = "5000"
	pooled, why, err := probe(ctx, cc)
	if err != nil {
		return "", fmt.Errorf("database: SHOEBOX_DIRECT_DATABASE_URL: %w", classify(err))
	}
	if pooled {
		return why, errors.New("SHOEBOX_DIRECT_DATABASE_URL leads to a pooler too, so LISTEN cannot work there: " + why)
	}
	return why, nil
}
