// Package s3test gives tests a real S3-compatible server: SeaweedFS's
// `weed mini` (built by scripts/setup.sh --test), started as a subprocess
// on free loopback ports with an identity file, so that credentials are
// checked as on a real deployment, and stopped when the test ends. Nothing
// is faked.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"shoebox/internal/objstore"
)

// DefaultBin is where scripts/setup.sh --test installs weed.
const DefaultBin = "/usr/local/lib/shoebox/weed"

// Bin finds weed: SHOEBOX_TEST_WEED, else DefaultBin.
func Bin() (string, error) {
	p := os.Getenv("SHOEBOX_TEST_WEED")
	if p == "" {
		p = DefaultBin
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("s3test: no SeaweedFS binary at %s (run scripts/setup.sh --test, or set SHOEBOX_TEST_WEED): %w", p, err)
	}
	return p, nil
}

// Server is a running weed with one bucket.
type Server struct {
	// Endpoint is the S3 API's URL (http://127.0.0.1:PORT).
	Endpoint             string
	AccessKey, SecretKey string
	// Bucket exists and is empty at start.
	Bucket string

	bin  string
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts weed in a temporary folder, makes the bucket, and stops it
// all when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Bin()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sbs3-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{bin: bin, dir: dir, AccessKey: "shoebox-" + token(4), SecretKey: token(16), Bucket: "media"}
	ident := map[string]any{"identities": []any{map[string]any{
		"name":        "shoebox",
		"credentials": []any{map[string]string{"accessKey": s.AccessKey, "secretKey": s.SecretKey}},
		"actions":     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}}
	b, _ := json.Marshal(ident)
	conf := filepath.Join(dir, "s3.json")
	if err := os.WriteFile(conf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for try := 0; try < 3; try++ { // a port taken meanwhile: other ports
		ports, err := freePorts(6)
		if err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(dir, "data")
		os.RemoveAll(data)
		os.MkdirAll(data, 0o700)
		s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(ports[0])
		s.args = []string{"mini", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
			"-s3.port=" + strconv.Itoa(ports[0]), "-master.port=" + strconv.Itoa(ports[1]),
			"-filer.port=" + strconv.Itoa(ports[2]), "-volume.port=" + strconv.Itoa(ports[3]),
			"-webdav=false", "-admin.ui=false", "-admin.port=" + strconv.Itoa(ports[4]), "-admin.port.legacy=0",
			"-debug.port=" + strconv.Itoa(ports[5]),
			"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.config=" + conf,
			"-master.telemetry=false", "-master.volumeSizeLimitMB=64"}
		if lastErr = s.start(); lastErr != nil {
			continue
		}
		if lastErr = s.makeBucket(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
		s.Stop()
	}
	t.Fatalf("s3test: weed did not start: %v (log: %s)", lastErr, filepath.Join(dir, "weed.log"))
	return nil
}

func token(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// freePorts finds n loopback ports free now, each with its gRPC
// companion (port+10000, weed's rule) free too.
func freePorts(n int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for tries := 0; len(out) < n && tries < 1000; tries++ {
		var rb [2]byte
		rand.Read(rb[:])
		p := 20000 + int(rb[0])<<8%25000 + int(rb[1])
		if seen[p] || seen[p+10000] || !free(p) || !free(p+10000) {
			continue
		}
		seen[p], seen[p+10000] = true, true
		out = append(out, p)
	}
	if len(out) < n {
		return nil, fmt.Errorf("s3test: no free ports")
	}
	return out, nil
}

func free(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// start runs weed and waits until its S3 API answers.
func (s *Server) start() error {
	log, err := os.OpenFile(filepath.Join(s.dir, "weed.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("s3test: weed exited: %v", cmd.ProcessState)
		case <-time.After(200 * time.Millisecond):
		}
		r, err := http.Get(s.Endpoint + "/")
		if err == nil {
			r.Body.Close()
			// Answers (403 without credentials): up.
			if r.StatusCode < 500 {
				return nil
			}
		}
	}
	s.Stop()
	return fmt.Errorf("s3test: weed's S3 API did not answer at %s", s.Endpoint)
}

// makeBucket creates the bucket (retrying while weed finishes starting:
// the filer and volume server come up after the S3 port does).
func (s *Server) makeBucket() error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = c.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{})
		if err == nil || minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			// And a write goes through (a volume is allocated).
			_, err = c.PutObject(ctx, s.Bucket, ".ready", http.NoBody, 0, minio.PutObjectOptions{})
			if err == nil {
				err = c.RemoveObject(ctx, s.Bucket, ".ready", minio.RemoveObjectOptions{})
			}
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("s3test: bucket: %w", err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Client is a plain S3 client for the server, to look behind Shoebox's back.
func (s *Server) Client() (*minio.Client, error) {
	u := s.Endpoint[len("http://"):]
	return minio.New(u, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), BucketLookup: minio.BucketLookupPath, Region: "us-east-1"})
}

// Options are what objstore.OpenS3 needs for the bucket, under prefix.
func (s *Server) Options(prefix string) objstore.S3Options {
	return objstore.S3Options{Bucket: s.Bucket, Prefix: prefix, Endpoint: s.Endpoint, AccessKey: s.AccessKey, SecretKey: s.SecretKey, PathStyle: true}
}

// Env is the Shoebox environment for media on the bucket under prefix.
func (s *Server) Env(prefix string) []string {
	return []string{"SHOEBOX_MEDIA_URL=s3://" + s.Bucket + "/" + prefix, "SHOEBOX_S3_ENDPOINT=" + s.Endpoint,
		"SHOEBOX_S3_ACCESS_KEY=" + s.AccessKey, "SHOEBOX_S3_SECRET_KEY=" + s.SecretKey}
}

// Stop stops weed (and everything it started), waiting for it to go.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

// Restart starts weed again on the same ports and data after Stop.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}
