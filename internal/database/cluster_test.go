package database

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// tempRoot is a folder the cluster's user (postgres, when we are root) can
// reach, removed with whatever cluster runs in it when the test ends.
func tempRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sbclu-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func stopAtEnd(t *testing.T, c *Cluster) {
	t.Cleanup(func() { c.Kill(context.Background()); os.RemoveAll(c.SocketDir) })
}

// withoutPassword is u less its password.
func withoutPassword(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	if q.Get("password") == "" {
		t.Fatalf("the cluster's URL carries no password")
	}
	q.Del("password")
	p.RawQuery = q.Encode()
	return p.String()
}

func connect(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT 1")
	return err
}

// assertClosed checks the doors of a cluster: no trust line, the password
// in a 0600 file of the cluster's user, the socket in a 0700 folder, no way
// in without the password, and Shoebox's own URL still works.
func assertClosed(t *testing.T, c *Cluster) {
	t.Helper()
	hba, err := os.ReadFile(filepath.Join(c.DataDir(), "pg_hba.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(hba), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if strings.Contains(line, "trust") {
			t.Errorf("pg_hba.conf trusts: %q", line)
		}
	}
	owner := uint32(os.Geteuid())
	if c.cred != nil {
		owner = c.cred.Uid
	}
	for p, mode := range map[string]os.FileMode{c.SecretPath(): 0o600, c.SocketDir: 0o700 | os.ModeDir, c.Root: 0o700 | os.ModeDir} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != mode {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), mode)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != owner {
			t.Errorf("%s: owner %d, want the cluster's user %d", p, uid, owner)
		}
	}
	socks, _ := filepath.Glob(filepath.Join(c.SocketDir, ".s.PGSQL.*[0-9]"))
	for _, s := range socks {
		if fi, err := os.Stat(s); err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("socket %s: mode %v, open to others", s, fi.Mode())
		}
	}
	if err := connect(c.URL("postgres")); err != nil {
		t.Fatalf("Shoebox's own URL: %v", err)
	}
	if err := connect(withoutPassword(t, c.URL("postgres"))); err == nil {
		t.Errorf("connected without the password")
	}
	if err := connect(withoutPassword(t, c.URL("postgres")) + "&password=guess"); err == nil {
		t.Errorf("connected with a wrong password")
	}
}

// The embedded cluster lets no other account on the machine in: the
// socket's folder is closed to them, so even the right password is no use,
// and the password file cannot be read.
func TestEmbeddedClusterRefusesOtherUsers(t *testing.T) {
	data := tempRoot(t)
	ctx := context.Background()
	c, err := StartEmbedded(ctx, data, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, c)
	if c.Root != filepath.Join(data, "pg") {
		t.Fatalf("cluster in %s, want under the data folder", c.Root)
	}
	assertClosed(t, c)
	db, err := Open(ctx, Options{URL: c.URL(EmbeddedDB), MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("pool on the embedded cluster: %v", err)
	}

	if os.Geteuid() != 0 {
		t.Skip("acting as another user needs root")
	}
	conninfo := "host=" + c.SocketDir + " port=5432 user=" + ClusterUser + " dbname=postgres password=" + c.secret()
	as := func(uid, gid uint32, name string, args ...string) ([]byte, error) {
		cmd := exec.Command(name, args...)
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/bin:/bin", "PGCONNECT_TIMEOUT=5"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
		return cmd.CombinedOutput()
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql not found (postgresql-client): %v", err)
	}
	// The cluster's own user gets in this way: the command works.
	if out, err := as(c.cred.Uid, c.cred.Gid, psql, "-XAtc", "SELECT 1", conninfo); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("psql as the cluster's user: %v: %s", err, out)
	}
	const nobody = 65534
	out, err := as(nobody, nobody, psql, "-XAtc", "COPY (SELECT 1) TO PROGRAM 'id'", conninfo)
	if err == nil {
		t.Fatalf("user nobody connected to the embedded cluster: %s", out)
	}
	t.Logf("as nobody: %s", strings.TrimSpace(string(out)))
	if out, err := as(nobody, nobody, "/bin/cat", c.SecretPath()); err == nil {
		t.Fatalf("user nobody read the password file: %s", out)
	}
}

// A cluster made by an older Shoebox (initdb --auth=trust, socket open to
// all) is closed when Shoebox starts on it, whether the old server is still
// running (adopted: the password is set and pg_hba.conf reloaded) or not.
func TestOldTrustClusterIsClosedOnStart(t *testing.T) {
	for _, running := range []bool{true, false} {
		name := "stopped"
		if running {
			name = "running"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			old, err := NewCluster(filepath.Join(tempRoot(t), "pg"), nil)
			if err != nil {
				t.Fatal(err)
			}
			stopAtEnd(t, old)
			// What Init and Start did before SCRAM.
			for _, d := range []string{old.Root, old.SocketDir} {
				if err := old.mkdirOwned(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := old.mkdirOwned(old.DataDir(), 0o700); err != nil {
				t.Fatal(err)
			}
			if _, err := old.run(ctx, "initdb", "-D", old.DataDir(), "-U", ClusterUser, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"); err != nil {
				t.Fatal(err)
			}
			if _, err := old.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", old.DataDir(), "-l", filepath.Join(old.Root, "postgres.log"),
				"-o", "-k "+old.SocketDir+" -p 5432 -c listen_addresses="); err != nil {
				t.Fatal(err)
			}
			bare := "postgres:///postgres?" + url.Values{"host": {old.SocketDir}, "port": {"5432"}, "user": {ClusterUser}, "sslmode": {"disable"}}.Encode()
			if err := connect(bare); err != nil {
				t.Fatalf("the old cluster should trust: %v", err)
			}
			if !running {
				if err := old.Stop(ctx); err != nil {
					t.Fatal(err)
				}
			}

			c, err := NewCluster(old.Root, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Init(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			assertClosed(t, c)
			if err := connect(bare); err == nil {
				t.Fatal("the upgraded cluster still lets anyone in without a password")
			}
		})
	}
}

// A cluster whose parents Shoebox creates (as /var/lib/shoebox/clusters
// when the data folder is out of the postgres user's reach) must be
// reachable by that user: the parents are 0755, only the cluster is private.
func TestClusterInNewParentsInitialises(t *testing.T) {
	base := tempRoot(t)
	root := filepath.Join(base, "var", "lib", "shoebox", "clusters", "x")
	c, err := NewCluster(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(context.Background()); err != nil {
		t.Fatalf("Init under new parents: %v", err)
	}
	for d := filepath.Dir(root); d != base; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o005 != 0o005 {
			t.Errorf("%s: %v %v, want traversable by others", d, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cluster root %s: %v %v, want 0700", root, fi.Mode(), err)
	}
}
