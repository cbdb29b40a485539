package dbtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// PgBouncer is a real PgBouncer (the Debian package's binary) started for a
// test in front of a cluster, in transaction mode.
type PgBouncer struct {
	Dir  string
	Port int
	cmd  *exec.Cmd
	user string
	pw   string
}

// PgBouncerOptions tune StartPgBouncer.
type PgBouncerOptions struct {
	// PoolSize is how many server connections PgBouncer opens at most to
	// the cluster, for all databases and clients together
	// (max_db_connections and default_pool_size). Default 4.
	PoolSize int
	// Settings are extra [pgbouncer] settings.
	Settings map[string]string
}

// FindPgBouncer returns the pgbouncer binary, or fails the test with how to
// install it: the scale-out tests need the real one.
func FindPgBouncer(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	t.Fatal("dbtest: pgbouncer not installed (scripts/setup.sh --test installs Debian's pgbouncer)")
	return ""
}

// StartPgBouncer starts PgBouncer in transaction mode in front of c (every
// database of it), listening on a free loopback port, stopped when the test
// ends. As root it runs as the cluster's owner (postgres), as PgBouncer
// refuses to run as root and must reach the cluster's private socket.
func StartPgBouncer(t testing.TB, c *database.Cluster, o PgBouncerOptions) *PgBouncer {
	t.Helper()
	bin := FindPgBouncer(t)
	if o.PoolSize <= 0 {
		o.PoolSize = 4
	}
	dir, err := os.MkdirTemp("", "sbpgb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u, _ := url.Parse(c.URL("postgres"))
	pw := u.Query().Get("password")
	b := &PgBouncer{Dir: dir, Port: freePort(t), user: database.ClusterUser, pw: pw}
	settings := map[string]string{
		"listen_addr":               "127.0.0.1",
		"listen_port":               strconv.Itoa(b.Port),
		"unix_socket_dir":           "",
		"auth_type":                 "scram-sha-256",
		"auth_file":                 filepath.Join(dir, "userlist.txt"),
		"admin_users":               database.ClusterUser,
		"pool_mode":                 "transaction",
		"default_pool_size":         strconv.Itoa(o.PoolSize),
		"max_db_connections":        strconv.Itoa(o.PoolSize),
		"max_client_conn":           "2000",
		"min_pool_size":             "0",
		"reserve_pool_size":         "0",
		"server_reset_query":        "",
		"ignore_startup_parameters": "extra_float_digits",
		"query_wait_timeout":        "30",
		"logfile":                   filepath.Join(dir, "pgbouncer.log"),
		"pidfile":                   filepath.Join(dir, "pgbouncer.pid"),
	}
	for k, v := range o.Settings {
		settings[k] = v
	}
	var ini strings.Builder
	fmt.Fprintf(&ini, "[databases]\n* = host=%s port=%d user=%s password=%s\n\n[pgbouncer]\n", c.SocketDir, c.Port, database.ClusterUser, pw)
	for k, v := range settings {
		fmt.Fprintf(&ini, "%s = %s\n", k, v)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("pgbouncer.ini", ini.String())
	write("userlist.txt", fmt.Sprintf("%q %q\n", database.ClusterUser, pw))
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("dbtest: pgbouncer as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		for _, p := range []string{dir, filepath.Join(dir, "pgbouncer.ini"), filepath.Join(dir, "userlist.txt")} {
			os.Chown(p, uid, gid)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("dbtest: start pgbouncer: %v", err)
	}
	b.cmd = cmd
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)), time.Second)
		if err == nil {
			conn.Close()
			return b
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("dbtest: pgbouncer did not listen on %d: %v\n%s", b.Port, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is a connection string for database db through PgBouncer (TCP). It
// carries the password: never log it.
func (b *PgBouncer) URL(db string) string {
	q := url.Values{"sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.UserPassword(b.user, b.pw),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port)), Path: "/" + db, RawQuery: q.Encode()}).String()
}

// AdminURL reaches PgBouncer's admin console (SHOW POOLS, SHOW SERVERS),
// which speaks only the simple protocol.
func (b *PgBouncer) AdminURL() string {
	return b.URL("pgbouncer") + "&default_query_exec_mode=simple_protocol"
}

// Stop ends PgBouncer now (as a crash would).
func (b *PgBouncer) Stop() { b.cmd.Process.Kill(); b.cmd.Wait() }

// Log is PgBouncer's log so far, for failure messages.
func (b *PgBouncer) Log() string {
	l, _ := os.ReadFile(filepath.Join(b.Dir, "pgbouncer.log"))
	return string(l)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ServerConns counts the client backends of database db in c now: what
// PostgreSQL sees, whoever opened them.
func ServerConns(ctx context.Context, t testing.TB, c *database.Cluster, db string) int {
	t.Helper()
	n, err := CountServerConns(ctx, c, db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// CountServerConns is ServerConns returning its error (for goroutines).
func CountServerConns(ctx context.Context, c *database.Cluster, db string) (int, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, db).Scan(&n)
	return n, err
}
