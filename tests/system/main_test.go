package system

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	// shoeboxBin is the binary built by TestMain from ./cmd/shoebox.
	shoeboxBin string
	// repoRoot is the module root (where go.mod is).
	repoRoot string
	// workDir holds the binary and everything the tests make outside
	// t.TempDir (folders the postgres user must be able to reach).
	workDir string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	var err error
	if repoRoot, err = findRepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "system tests:", err)
		return 1
	}
	cleanStaleRuns()
	if workDir, err = os.MkdirTemp("", "sbsys-"); err != nil {
		fmt.Fprintln(os.Stderr, "system tests:", err)
		return 1
	}
	// The postgres user runs clusters under here (we are root): it must be
	// able to traverse it.
	os.Chmod(workDir, 0o755)
	os.WriteFile(filepath.Join(workDir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644)
	ownPath(workDir)
	defer os.RemoveAll(workDir)
	defer func() {
		// Whatever a test left behind (it should have cleaned up itself),
		// and then a check that nothing we started is still running.
		runAtExit()
		if leaks := leakedProcesses(); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "system tests: processes outlived the tests (killed now):\n  %s\n", strings.Join(leaks, "\n  "))
			code = 1
		}
	}()

	// Stop everything we started if the run is interrupted, or before the
	// test binary's own -timeout panic (which runs no cleanups).
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigc
		fmt.Fprintf(os.Stderr, "system tests: %v: stopping shoebox and postgres processes\n", s)
		runAtExit()
		os.RemoveAll(workDir)
		os.Exit(1)
	}()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			margin := min(20*time.Second, d/10)
			time.AfterFunc(d-margin, func() {
				fmt.Fprintf(os.Stderr, "system tests: about to hit -timeout %s: stopping shoebox and postgres processes\n", d)
				runAtExit()
				leakedProcesses()
				os.RemoveAll(workDir)
				os.Exit(1)
			})
		}
	}

	if err := buildShoebox(); err != nil {
		fmt.Fprintln(os.Stderr, "system tests:", err)
		return 1
	}
	return m.Run()
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module shoebox")) {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("no go.mod of module shoebox above %s", dir)
		}
	}
}

// buildShoebox builds the real binary (cgo, libvips) into workDir.
func buildShoebox() error {
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
		if _, err := os.Stat(gobin); err != nil {
			return fmt.Errorf("no go command on PATH (nor /usr/local/go/bin/go): install Go (scripts/setup.sh)")
		}
	}
	shoeboxBin = filepath.Join(workDir, "bin", "shoebox")
	cmd := exec.Command(gobin, "build", "-o", shoeboxBin, "./cmd/shoebox")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		hint := "fix the build error above"
		if bytes.Contains(out, []byte("pkg-config")) || bytes.Contains(out, []byte("vips/vips.h")) || bytes.Contains(out, []byte("gcc")) {
			hint = "install libvips-dev, pkg-config and a C compiler (scripts/setup.sh), then rerun"
		}
		return fmt.Errorf("go build ./cmd/shoebox (CGO_ENABLED=1) failed: %v\n%s\n%s", err, out, hint)
	}
	return nil
}

// --- things to undo even when a test dies badly -------------------------

var exitReg struct {
	sync.Mutex
	next  int
	fns   map[int]func()
	paths []string // paths we own: a process mentioning one is ours
}

// atExit registers fn to run when the package's tests end (or are
// interrupted); the returned func unregisters it.
func atExit(fn func()) (forget func()) {
	exitReg.Lock()
	defer exitReg.Unlock()
	if exitReg.fns == nil {
		exitReg.fns = map[int]func(){}
	}
	exitReg.next++
	id := exitReg.next
	exitReg.fns[id] = fn
	return func() {
		exitReg.Lock()
		delete(exitReg.fns, id)
		exitReg.Unlock()
	}
}

func runAtExit() {
	exitReg.Lock()
	ids := make([]int, 0, len(exitReg.fns))
	for id := range exitReg.fns {
		ids = append(ids, id)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ids)))
	fns := make([]func(), 0, len(ids))
	for _, id := range ids {
		fns = append(fns, exitReg.fns[id])
		delete(exitReg.fns, id)
	}
	exitReg.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// ownPath records a folder whose processes (postgres -D <it>/..., the
// shoebox binary in it) are ours.
func ownPath(p string) {
	exitReg.Lock()
	exitReg.paths = append(exitReg.paths, p)
	exitReg.Unlock()
}

// cleanStaleRuns removes what an earlier run of these tests left when it
// could not clean up (a panicking test ends the binary without running
// TestMain's deferred cleanup): its folder, and any process still using it.
func cleanStaleRuns() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "sbsys-*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < time.Minute {
			continue // young: may be a run starting right now
		}
		if b, err := os.ReadFile(filepath.Join(d, "owner.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && syscall.Kill(pid, 0) == nil {
				continue // its run is still going
			}
		}
		exitReg.Lock()
		saved := exitReg.paths
		exitReg.paths = []string{d}
		exitReg.Unlock()
		if leaks := leakedProcesses(); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "system tests: stopped processes left by an earlier run:\n  %s\n", strings.Join(leaks, "\n  "))
		}
		exitReg.Lock()
		exitReg.paths = saved
		exitReg.Unlock()
		os.RemoveAll(d)
	}
}

// leakedProcesses finds running processes whose command line names a path
// we own, kills them (by pid: they are ours) and describes them.
func leakedProcesses() []string {
	exitReg.Lock()
	paths := append([]string(nil), exitReg.paths...)
	exitReg.Unlock()
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		for _, p := range paths {
			if strings.Contains(cmdline, p) {
				if st, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); bytes.Contains(st, []byte(") Z ")) {
					break // a zombie holds nothing
				}
				// SIGQUIT is PostgreSQL's immediate shutdown (children too).
				syscall.Kill(pid, syscall.SIGQUIT)
				for i := 0; i < 50; i++ {
					if _, err := os.Stat(filepath.Join("/proc", e.Name())); err != nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				syscall.Kill(pid, syscall.SIGKILL)
				out = append(out, fmt.Sprintf("pid %d: %s", pid, cmdline))
				break
			}
		}
	}
	return out
}
