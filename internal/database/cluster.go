package database

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cluster is a PostgreSQL cluster run from the installed binaries (initdb,
// pg_ctl), listening only on a unix socket. Shoebox uses one as its embedded
// default database; tests use throwaway ones. PostgreSQL refuses to run as
// root, so when we are root the cluster belongs to the "postgres" user.
type Cluster struct {
	// Root holds the cluster: Root/data is PGDATA, the socket lives in
	// SocketDir, the server log in Root/postgres.log.
	Root      string
	SocketDir string
	// Port names the socket file (.s.PGSQL.<port>); nothing listens on TCP.
	Port int
	// Settings are passed to postgres as -c name=value.
	Settings map[string]string
	binDir   string
	cred     *syscall.Credential
}

// ClusterUser is the database superuser name of clusters we create.
const ClusterUser = "shoebox"

// NewCluster prepares (but does not create or start) a cluster under root.
func NewCluster(root string, settings map[string]string) (*Cluster, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Root: root, Port: 5432, Settings: settings, binDir: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("cluster: running as root needs a 'postgres' user to own the database (install postgresql-15): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	c.SocketDir = filepath.Join(root, "run")
	// A unix socket path is limited to ~107 bytes; fall back to /tmp.
	if len(c.SocketDir)+len("/.s.PGSQL.5432.lock") > 100 {
		sum := sha256.Sum256([]byte(root))
		c.SocketDir = filepath.Join(os.TempDir(), "shoebox-"+hex.EncodeToString(sum[:6]))
	}
	return c, nil
}

// findBinDir locates the PostgreSQL server binaries: the newest
// /usr/lib/postgresql/N/bin, else initdb on PATH.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	if len(dirs) > 0 {
		return filepath.Dir(dirs[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("cluster: PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql-15 (scripts/setup.sh does), or set DATABASE_URL")
}

func pgMajor(p string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
	return n
}

// DataDir is PGDATA.
func (c *Cluster) DataDir() string { return filepath.Join(c.Root, "data") }

// URL is a connection string for database db over the unix socket.
func (c *Cluster) URL(db string) string {
	q := url.Values{"host": {c.SocketDir}, "port": {strconv.Itoa(c.Port)}, "user": {ClusterUser}, "sslmode": {"disable"}}
	return "postgres:///" + db + "?" + q.Encode()
}

// Init creates the cluster once; it is a no-op when it already exists.
func (c *Cluster) Init(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION")); err == nil {
		return c.ensureDirs()
	}
	if err := c.ensureDirs(); err != nil {
		return err
	}
	// A half-made cluster from an interrupted initdb is removed and redone.
	if err := os.RemoveAll(c.DataDir()); err != nil {
		return fmt.Errorf("cluster: clean %s: %w", c.DataDir(), err)
	}
	if err := c.mkdirOwned(c.DataDir(), 0o700); err != nil {
		return err
	}
	_, err := c.run(ctx, "initdb", "-D", c.DataDir(), "-U", ClusterUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	return err
}

func (c *Cluster) ensureDirs() error {
	if err := c.mkdirOwned(c.Root, 0o755); err != nil {
		return err
	}
	return c.mkdirOwned(c.SocketDir, 0o755)
}

func (c *Cluster) mkdirOwned(dir string, mode os.FileMode) error {
	if err := os.MkdirAll(dir, mode); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	return nil
}

// Running reports whether a postmaster is running on this cluster.
func (c *Cluster) Running(ctx context.Context) bool {
	_, err := c.run(ctx, "pg_ctl", "status", "-D", c.DataDir())
	return err == nil
}

// Start starts the server and waits until it accepts connections. A server
// left running by a killed shoebox is adopted rather than restarted.
func (c *Cluster) Start(ctx context.Context) error {
	if c.Running(ctx) {
		return nil
	}
	opts := []string{"-k", c.SocketDir, "-p", strconv.Itoa(c.Port), "-c", "listen_addresses="}
	keys := make([]string, 0, len(c.Settings))
	for k := range c.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		opts = append(opts, "-c", k+"="+c.Settings[k])
	}
	_, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.DataDir(),
		"-l", filepath.Join(c.Root, "postgres.log"), "-o", strings.Join(opts, " "))
	if err != nil {
		return fmt.Errorf("%w (server log: %s)", err, filepath.Join(c.Root, "postgres.log"))
	}
	return nil
}

// Stop shuts the server down (fast mode: running queries are cancelled).
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.Running(ctx) {
		return nil
	}
	_, err := c.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.DataDir())
	return err
}

// Kill stops the server immediately, as a crash would (tests only).
func (c *Cluster) Kill(ctx context.Context) error {
	_, err := c.run(ctx, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", c.DataDir())
	return err
}

func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = "/"
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the postmaster running with our stdout; don't wait on it.
	if name == "pg_ctl" && len(args) > 0 && args[0] == "start" {
		cmd.Stdout, cmd.Stderr = nil, nil
		cmd.SysProcAttr = withSetsid(cmd.SysProcAttr)
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("cluster: pg_ctl start: %w", err)
		}
		return nil, nil
	}
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("cluster: %s %s: %w: %s", name, args[0], err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// withSetsid detaches the server from our process group, so a Ctrl-C meant
// for shoebox lets shoebox stop PostgreSQL cleanly instead of killing it.
func withSetsid(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	if a == nil {
		a = &syscall.SysProcAttr{}
	}
	a.Setsid = true
	return a
}

// ReachableBy reports whether the unprivileged cluster owner can reach dir
// (every ancestor searchable). When we are not root it is always true.
func (c *Cluster) ReachableBy(dir string) bool {
	if c.cred == nil {
		return true
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			st := fi.Sys().(*syscall.Stat_t)
			perm := fi.Mode().Perm()
			ok := perm&0o001 != 0 || (st.Uid == c.cred.Uid && perm&0o100 != 0) || (st.Gid == c.cred.Gid && perm&0o010 != 0)
			if !ok {
				return false
			}
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}
