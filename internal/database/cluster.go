package database

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a PostgreSQL cluster run from the installed binaries (initdb,
// pg_ctl), listening only on a unix socket. Shoebox uses one as its embedded
// default database; tests use throwaway ones. PostgreSQL refuses to run as
// root, so when we are root the cluster belongs to the "postgres" user.
//
// No other account on the machine may use it: a superuser connection runs
// programs as the cluster's owner (COPY ... TO PROGRAM). So the socket lives
// in a 0700 folder, and the one role logs in with a generated password
// (SCRAM) kept in Root/secret, mode 0600; pg_hba.conf has no trust line.
type Cluster struct {
	// Root holds the cluster (mode 0700): Root/data is PGDATA, Root/secret
	// the password, the server log Root/postgres.log. The socket lives in
	// SocketDir.
	Root      string
	SocketDir string
	// Port names the socket file (.s.PGSQL.<port>); nothing listens on TCP.
	Port int
	// Settings are passed to postgres as -c name=value.
	Settings map[string]string
	binDir   string
	cred     *syscall.Credential
	mu       sync.Mutex
	password string // read from SecretPath once known
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

// SecretPath is the file holding the role's password (mode 0600, owned by
// the cluster's user).
func (c *Cluster) SecretPath() string { return filepath.Join(c.Root, "secret") }

// URL is a connection string for database db over the unix socket. It
// carries the password: never log it.
func (c *Cluster) URL(db string) string {
	q := url.Values{"host": {c.SocketDir}, "port": {strconv.Itoa(c.Port)}, "user": {ClusterUser}, "sslmode": {"disable"}}
	if pw := c.secret(); pw != "" {
		q.Set("password", pw)
	}
	return "postgres:///" + db + "?" + q.Encode()
}

// secret is the password, read from SecretPath the first time (a Cluster
// made for a cluster that already exists knows it without Init).
func (c *Cluster) secret() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.password == "" {
		if b, err := os.ReadFile(c.SecretPath()); err == nil {
			c.password = strings.TrimSpace(string(b))
		}
	}
	return c.password
}

// Init creates the cluster once; when it already exists it only makes sure
// of the folders' modes and the password file (Start closes an older
// cluster's trust lines).
func (c *Cluster) Init(ctx context.Context) error {
	if err := c.ensureDirs(); err != nil {
		return err
	}
	if err := c.ensureSecret(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION")); err == nil {
		return nil
	}
	// A half-made cluster from an interrupted initdb is removed and redone.
	if err := os.RemoveAll(c.DataDir()); err != nil {
		return fmt.Errorf("cluster: clean %s: %w", c.DataDir(), err)
	}
	if err := c.mkdirOwned(c.DataDir(), 0o700); err != nil {
		return err
	}
	if _, err := c.run(ctx, "initdb", "-D", c.DataDir(), "-U", ClusterUser, "--pwfile", c.SecretPath(),
		"--auth-local=scram-sha-256", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
		return err
	}
	return c.writeHBA()
}

func (c *Cluster) ensureDirs() error {
	if err := c.mkdirOwned(c.Root, 0o700); err != nil {
		return err
	}
	return c.mkdirOwned(c.SocketDir, 0o700)
}

// ensureSecret makes the password file once (32 random bytes, hex) and
// keeps its mode at 0600 and its owner the cluster's user.
func (c *Cluster) ensureSecret() error {
	p := c.SecretPath()
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("cluster: password: %w", err)
		}
		if err := c.writeOwned(p, []byte(hex.EncodeToString(b)+"\n")); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("cluster: password: %w", err)
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("cluster: %s is not a regular file", p)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("cluster: %w", err)
		}
	}
	if c.secret() == "" {
		return fmt.Errorf("cluster: %s is empty", p)
	}
	return nil
}

// hba is the whole of pg_hba.conf: the one role, over the socket, with its
// password. Nothing listens on TCP.
const hba = `# Written by Shoebox: only the shoebox role, over the unix socket, with its password.
local all ` + ClusterUser + ` scram-sha-256
`

func (c *Cluster) writeHBA() error {
	return c.writeOwned(filepath.Join(c.DataDir(), "pg_hba.conf"), []byte(hba))
}

// hbaTrusts reports whether pg_hba.conf lets anyone in without a password,
// as the clusters of Shoebox versions before SCRAM did.
func (c *Cluster) hbaTrusts() (bool, error) {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "pg_hba.conf"))
	if err != nil {
		return false, fmt.Errorf("cluster: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		for _, f := range strings.Fields(line) {
			if f == "trust" {
				return true, nil
			}
		}
	}
	return false, nil
}

// writeOwned writes a 0600 file owned by the cluster's user, atomically.
func (c *Cluster) writeOwned(p string, b []byte) error {
	tmp := p + ".tmp"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && c.cred != nil {
		err = os.Chown(tmp, int(c.cred.Uid), int(c.cred.Gid))
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cluster: write %s: %w", p, err)
	}
	return nil
}

// secure closes a running cluster made by an older Shoebox (trust lines in
// pg_hba.conf): it sets the role's password to the secret, rewrites
// pg_hba.conf and reloads. Meanwhile only we can reach the socket: its
// folder is already 0700.
func (c *Cluster) secure(ctx context.Context) error {
	// An adopted old server made its socket 0777 (new ones: 0700).
	sock := filepath.Join(c.SocketDir, ".s.PGSQL."+strconv.Itoa(c.Port))
	if err := os.Chmod(sock, 0o700); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cluster: %w", err)
	}
	open, err := c.hbaTrusts()
	if err != nil || !open {
		return err
	}
	if err := c.ensureSecret(); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("cluster: set password: %w", err)
	}
	defer conn.Close(ctx)
	// The secret is hex, so quoting it is safe; ALTER ROLE takes no parameters.
	if _, err := conn.Exec(ctx, "ALTER ROLE "+ClusterUser+" PASSWORD '"+c.secret()+"'"); err != nil {
		return fmt.Errorf("cluster: set password: %w", err)
	}
	if err := c.writeHBA(); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		return fmt.Errorf("cluster: reload: %w", err)
	}
	return nil
}

func (c *Cluster) mkdirOwned(dir string, mode os.FileMode) error {
	// Parents we create must stay traversable by the cluster's user (say
	// /var/lib/shoebox/clusters, made by root): only dir itself is private.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
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

// Running reports whether a postmaster is running on this cluster: the
// process named in postmaster.pid exists and is not a zombie.
func (c *Cluster) Running(ctx context.Context) bool {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// A killed postmaster nobody has reaped yet still answers kill(0).
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && bytes.Contains(st, []byte(") Z ")) {
		return false
	}
	return true
}

// Start starts the server and waits until it accepts connections. A server
// left running by a killed shoebox is adopted rather than restarted; one
// made by an older Shoebox that trusted every local user is closed first.
func (c *Cluster) Start(ctx context.Context) error {
	if !c.Running(ctx) {
		if err := c.start(ctx); err != nil {
			return err
		}
	}
	return c.secure(ctx)
}

func (c *Cluster) start(ctx context.Context) error {
	opts := []string{"-k", c.SocketDir, "-p", strconv.Itoa(c.Port), "-c", "listen_addresses=", "-c", "unix_socket_permissions=0700"}
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
