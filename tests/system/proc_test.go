package system

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
)

// --- processes -----------------------------------------------------------

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a shoebox (or wrapper) process in its own process group.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error // from Wait, once done is closed
}

// shoeboxEnv is a clean environment: nothing of the caller's SHOEBOX_* or
// DATABASE_URL leaks in; extra is added.
func shoeboxEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SHOEBOX_") || strings.HasPrefix(kv, "DATABASE_URL=") || strings.HasPrefix(kv, "PG") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// startProc starts argv with env. The process and its group are killed when
// the test ends (or the package's tests are interrupted) if still running.
func startProc(t *testing.T, name string, env []string, argv ...string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = env
	p.cmd.Dir = workDir
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	// Own process group (killed as a whole); killed too if we die.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	forget := atExit(func() { p.kill() })
	t.Cleanup(func() {
		forget()
		p.kill()
		if t.Failed() {
			t.Logf("--- %s stdout (tail) ---\n%s", name, tail(p.stdout.String(), 3000))
			t.Logf("--- %s stderr (tail) ---\n%s", name, tail(p.stderr.String(), 6000))
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill SIGKILLs the process group and waits for the process.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	syscall.Kill(-p.pid(), syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// stop asks the process to stop (SIGTERM), then kills it after grace.
func (p *proc) stop(grace time.Duration) {
	if !p.running() {
		return
	}
	syscall.Kill(p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// wait waits for the process to exit within timeout (then kills it and fails).
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.kill()
		t.Fatalf("%s did not finish within %s", p.name, timeout)
		return nil
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// procStatusKB reads a VmXXX field (kB) of /proc/PID/status.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, field+":") {
			fs := strings.Fields(strings.TrimPrefix(line, field+":"))
			if len(fs) == 0 {
				break
			}
			return strconv.ParseInt(fs[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// --- PostgreSQL ----------------------------------------------------------

// startCluster starts a throwaway cluster (dbtest), also stopped if the
// package's tests are interrupted, and creates database "shoebox" in it.
func startCluster(t *testing.T, settings map[string]string) (*database.Cluster, string) {
	t.Helper()
	c := dbtest.StartCluster(t, settings)
	ownPath(c.Root)
	forget := atExit(func() { c.Kill(context.Background()); os.RemoveAll(c.Root); os.RemoveAll(c.SocketDir) })
	t.Cleanup(forget)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatalf("connect to test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE shoebox"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return c, c.URL("shoebox")
}

// embeddedDataDir makes a data folder for shoebox's embedded PostgreSQL
// (no DATABASE_URL): reachable by the postgres user, so the cluster lives
// in <data>/pg, and stopped when the test ends, whatever happened.
func embeddedDataDir(t *testing.T) (string, *database.Cluster) {
	t.Helper()
	dataDir, err := os.MkdirTemp(workDir, "data-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dataDir, 0o755)
	cluster, err := database.NewCluster(filepath.Join(dataDir, "pg"), nil)
	if err != nil {
		t.Fatalf("%v (install postgresql-15: scripts/setup.sh)", err)
	}
	if !cluster.ReachableBy(dataDir) {
		t.Fatalf("the postgres user cannot reach %s: shoebox would put its cluster elsewhere", dataDir)
	}
	stop := func() { cluster.Kill(context.Background()); os.RemoveAll(dataDir); os.RemoveAll(cluster.SocketDir) }
	forget := atExit(stop)
	t.Cleanup(func() { forget(); stop() })
	return dataDir, cluster
}

// pgConnect opens a monitoring connection of our own (not shoebox's).
func pgConnect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "shoebox-system-test"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("monitor connection: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// connMonitor samples how many connections shoebox holds on the server
// (pg_stat_activity rows with application_name 'shoebox') every ~20 ms.
type connMonitor struct {
	mu      sync.Mutex
	max     int
	maxAt   time.Time
	samples int
	errs    int
	lastErr error
	stop    chan struct{}
	done    chan struct{}
}

const shoeboxConnsSQL = `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'shoebox'`

// serverConnsSQL counts every client connection to database "shoebox"
// but the monitor's own: what PostgreSQL sees, whoever opened it (behind a
// pooler, the pooler's server connections).
const serverConnsSQL = `SELECT count(*) FROM pg_stat_activity
	WHERE datname = 'shoebox' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`

func monitorConns(t *testing.T, conn *pgx.Conn) *connMonitor {
	return monitorConnsBy(t, conn, shoeboxConnsSQL)
}

// monitorConnsBy samples sql (a count) every 20 ms until halted.
func monitorConnsBy(t *testing.T, conn *pgx.Conn, sql string) *connMonitor {
	m := &connMonitor{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var n int
			err := conn.QueryRow(ctx, sql).Scan(&n)
			cancel()
			m.mu.Lock()
			if err != nil {
				m.errs++
				m.lastErr = err
			} else {
				m.samples++
				if n > m.max {
					m.max, m.maxAt = n, time.Now()
				}
			}
			m.mu.Unlock()
			select {
			case <-m.stop:
				return
			case <-tk.C:
			}
		}
	}()
	t.Cleanup(m.halt)
	return m
}

func (m *connMonitor) halt() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

func (m *connMonitor) result() (max, samples, errs int, lastErr error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.max, m.samples, m.errs, m.lastErr
}

// --- shoebox serve ---------------------------------------------------------

type server struct {
	*proc
	base    string // http://127.0.0.1:PORT
	dataDir string
	client  *http.Client
}

type serveOpts struct {
	dbURL   string // DATABASE_URL; empty: embedded
	library string
	dataDir string // default: a new temp folder
	budget  int    // SHOEBOX_DB_MAX_CONNS; 0: default
	env     []string
	args    []string // more flags (--no-index)
}

// startServe starts `shoebox serve` on a free loopback port (--addr
// 127.0.0.1:0; the port is read from its "serving" line) and waits for
// /healthz.
func startServe(t *testing.T, o serveOpts) *server {
	t.Helper()
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	env := shoeboxEnv(o.env...)
	if o.dbURL != "" {
		env = append(env, "DATABASE_URL="+o.dbURL)
	}
	if o.budget > 0 {
		env = append(env, "SHOEBOX_DB_MAX_CONNS="+strconv.Itoa(o.budget))
	}
	argv := []string{shoeboxBin, "serve"}
	if o.library != "" {
		argv = append(argv, "--library", o.library)
	}
	argv = append(argv, "--data", o.dataDir, "--addr", "127.0.0.1:0", "--rescan", "0")
	p := startProc(t, "shoebox serve", env, append(argv, o.args...)...)
	s := &server{proc: p, dataDir: o.dataDir, client: newClient(30 * time.Second)}
	re := regexp.MustCompile(`Shoebox is serving (http://127\.0\.0\.1:\d+)/`)
	deadline := time.Now().Add(90 * time.Second)
	for s.base == "" {
		if m := re.FindStringSubmatch(p.stdout.String()); m != nil {
			s.base = m[1]
			break
		}
		if !p.running() {
			t.Fatalf("shoebox serve exited before serving: %v", p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("shoebox serve did not start serving within 90s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		if st, _, _, err := s.get("/healthz"); err == nil && st == 200 {
			return s
		}
		if !p.running() {
			t.Fatalf("shoebox serve exited: %v", p.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not 200 within 90s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, never a proxy
			MaxIdleConns:        1000,
			MaxIdleConnsPerHost: 1000,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// get fetches path and reads the whole body.
func (s *server) get(path string) (int, http.Header, []byte, error) {
	return s.getCtx(context.Background(), path)
}

func (s *server) getCtx(ctx context.Context, path string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b, err
}

// mustGet fetches path and fails unless the status is want.
func (s *server) mustGet(t *testing.T, path string, want int) (http.Header, []byte) {
	t.Helper()
	st, h, b, err := s.get(path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if st != want {
		t.Fatalf("GET %s: status %d, want %d; body: %s", path, st, want, tail(string(b), 500))
	}
	return h, b
}

// apiStats is the part of /api/stats the tests read.
type apiStats struct {
	Photos  int `json:"photos"`
	Damaged int `json:"damaged"`
	Files   int `json:"files"`
	Queue   struct {
		Pending int `json:"pending"`
		Failed  int `json:"failed"`
	} `json:"queue"`
	DB struct {
		MaxConns        int   `json:"max_conns"`
		AcquiredConns   int   `json:"acquired_conns"`
		IdleConns       int   `json:"idle_conns"`
		TotalConns      int   `json:"total_conns"`
		AcquireCount    int64 `json:"acquire_count"`
		AcquireTimeouts int64 `json:"acquire_timeouts"`
		Unavailable     int64 `json:"unavailable_count"`
		Waiting         int64 `json:"waiting"`
	} `json:"db"`
}

func (s *server) stats(t *testing.T) apiStats {
	t.Helper()
	_, b := s.mustGet(t, "/api/stats", 200)
	var st apiStats
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("/api/stats: %v: %s", err, b)
	}
	return st
}

// waitIndexed polls /api/stats until the queue is empty and photos > 0,
// twice in a row with the same figures: /api/stats reads photos before the
// queue, in separate statements, so one answer can show an empty queue with
// a photo count from just before the last photos were saved.
func (s *server) waitIndexed(t *testing.T, timeout time.Duration) apiStats {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last, prev apiStats
	for {
		st, _, b, err := s.get("/api/stats")
		if err == nil && st == 200 {
			last = apiStats{}
			if err := json.Unmarshal(b, &last); err == nil && last.Queue.Pending == 0 && last.Photos > 0 {
				if prev.Queue.Pending == 0 && prev.Photos == last.Photos && prev.Files == last.Files && prev.Queue.Failed == last.Queue.Failed {
					return last
				}
				prev = last
				continue
			}
			prev = apiStats{}
		}
		if !s.running() {
			t.Fatalf("shoebox serve exited while indexing: %v", s.err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("indexing not complete within %s: last stats %+v", timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// apiPhotoList is /api/photos.
type apiPhotoList struct {
	Photos []struct {
		ID      string `json:"id"`
		Path    string `json:"path"`
		Width   int    `json:"width"`
		Height  int    `json:"height"`
		Damaged bool   `json:"damaged"`
		Damage  string `json:"damage"`
	} `json:"photos"`
	Next *string `json:"next"`
}

func (s *server) photos(t *testing.T) apiPhotoList {
	t.Helper()
	_, b := s.mustGet(t, "/api/photos?limit=500", 200)
	var l apiPhotoList
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatalf("/api/photos: %v", err)
	}
	return l
}

// --- photo libraries -------------------------------------------------------

type corpusPhoto struct {
	path string // absolute
	size int64
	sum  string // sha256 hex
}

var corpus struct {
	sync.Mutex
	listed bool
	paths  []string      // candidates in path order, not yet checked
	good   []corpusPhoto // checked: distinct, readable by libvips
	seen   map[string]bool
	err    error
}

// corpusPhotos returns the first n real photos of testdata/corpus (path
// order) that are JPEG or PNG between 15 kB and 700 kB, of distinct
// content, and read by libvips without a warning (vipsheader): a
// deterministic pick that indexes quickly. Candidates are checked lazily.
func corpusPhotos(t *testing.T, n int) []corpusPhoto {
	t.Helper()
	corpus.Lock()
	defer corpus.Unlock()
	if !corpus.listed {
		corpus.listed = true
		root := filepath.Join(repoRoot, "testdata", "corpus")
		if _, err := os.Stat(root); err != nil {
			corpus.err = fmt.Errorf("%s missing: run `make setup-test` (scripts/setup.sh --test) to fetch the sample corpus", root)
		} else if _, err := exec.LookPath("vipsheader"); err != nil {
			corpus.err = fmt.Errorf("vipsheader not found: install libvips-tools (apt-get install libvips-tools)")
		}
		corpus.seen = map[string]bool{}
		if r, err := filepath.EvalSymlinks(root); err == nil {
			root = r // a corpus linked from elsewhere: Walk does not follow a linked root
		}
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
			ext := strings.ToLower(filepath.Ext(p))
			if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") && fi.Size() >= 15<<10 && fi.Size() <= 700<<10 &&
				!strings.Contains(strings.ToLower(p), "corrupt") {
				corpus.paths = append(corpus.paths, p)
			}
			return nil
		})
	}
	if corpus.err != nil {
		t.Fatal(corpus.err)
	}
	for len(corpus.good) < n && len(corpus.paths) > 0 {
		// Check the next few candidates in parallel (vipsheader starts slowly).
		batch := corpus.paths[:min(8, len(corpus.paths))]
		corpus.paths = corpus.paths[len(batch):]
		res := make([]*corpusPhoto, len(batch))
		var wg sync.WaitGroup
		for i, p := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sum, size, err := sha256File(p)
				if err != nil {
					return
				}
				out, err := exec.Command("vipsheader", p).CombinedOutput()
				if err != nil || bytes.Contains(out, []byte("WARNING")) {
					return
				}
				res[i] = &corpusPhoto{path: p, size: size, sum: sum}
			}()
		}
		wg.Wait()
		for _, r := range res {
			if r != nil && !corpus.seen[r.sum] {
				corpus.seen[r.sum] = true
				corpus.good = append(corpus.good, *r)
			}
		}
	}
	if len(corpus.good) < n {
		t.Fatalf("testdata/corpus has only %d usable photos, need %d: refetch it with `make setup-test`", len(corpus.good), n)
	}
	return corpus.good[:n]
}

// makeLibrary copies n distinct real photos (skipping the first skip) into
// a new folder and returns it with the copies' relative paths.
func makeLibrary(t *testing.T, n, skip int) (string, []corpusPhoto) {
	t.Helper()
	c := corpusPhotos(t, skip+n)
	dir := t.TempDir()
	var out []corpusPhoto
	for i, p := range c[skip : skip+n] {
		rel := fmt.Sprintf("%03d_%s", i, filepath.Base(p.path))
		copyFile(t, p.path, filepath.Join(dir, rel))
		out = append(out, corpusPhoto{path: rel, size: p.size, sum: p.sum})
	}
	return dir, out
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
