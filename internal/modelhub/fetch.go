package modelhub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const userAgent = "shoebox-modelhub/1"

// partSuffix marks a file still being written in the staging folder.
const partSuffix = ".part"

var errStalled = errors.New("no data received for too long")

// transientError is a failure worth another try from where it stopped: a
// dropped connection, a stall, a server error.
type transientError struct{ err error }

func (e transientError) Error() string { return e.err.Error() }
func (e transientError) Unwrap() error { return e.err }

// fetch makes stage/f.Path a verified copy of the hub's file. A file
// finished by an earlier run is checked again and kept; a partial one is
// continued. Dropped transfers are retried c.Retries times.
func (c *Client) fetch(ctx context.Context, name string, f File, stage string) error {
	dst := filepath.Join(stage, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	p := c.progress()
	if st, err := os.Lstat(dst); err == nil {
		if st.Mode().IsRegular() && verifyFile(dst, f) == nil {
			p.File(f.Path, f.Size, f.Size)
			p.Add(f.Size)
			return nil
		}
		if err := os.Remove(dst); err != nil {
			return fmt.Errorf("modelhub: %w", err)
		}
	}
	wait := c.RetryWait
	if wait <= 0 {
		wait = time.Second
	}
	part := dst + partSuffix
	for attempt := 0; ; attempt++ {
		err := c.fetchOnce(ctx, name, f, part, attempt == 0)
		if err == nil {
			break
		}
		var te transientError
		if !errors.As(err, &te) || attempt >= c.Retries || ctx.Err() != nil {
			if errors.As(err, &te) {
				return fmt.Errorf("%w (run the same command again to resume)", err)
			}
			return err
		}
		c.log().Warn("download interrupted; resuming", "file", f.Path, "err", err, "retry", attempt+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("modelhub: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err := os.Rename(part, dst); err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	return nil
}

// fetchOnce makes one request for what part lacks and appends it.
func (c *Client) fetchOnce(ctx context.Context, name string, f File, part string, first bool) error {
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	defer out.Close()
	p := c.progress()

	// What an earlier try left is hashed again: the checksum covers the
	// whole file, and a file can only be trusted once it is all read.
	sum := newChecksum(f)
	offset, err := io.Copy(sum, io.LimitReader(out, f.Size+1))
	if err != nil {
		return fmt.Errorf("modelhub: %s: %w", part, err)
	}
	if first {
		p.File(f.Path, f.Size, min(offset, f.Size))
		p.Add(min(offset, f.Size))
	}
	restart := func() error {
		p.Add(-min(offset, f.Size))
		offset, sum = 0, newChecksum(f)
		if err := out.Truncate(0); err != nil {
			return fmt.Errorf("modelhub: %w", err)
		}
		return nil
	}
	if offset == f.Size && sum.ok() {
		return nil
	}
	if offset >= f.Size { // complete but wrong, or longer than listed: start again
		if err := restart(); err != nil {
			return err
		}
	}

	stall := c.Stall
	if stall <= 0 {
		stall = time.Minute
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer timer.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.resolveURL(name, f.Path), nil)
	if err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
			err = cause
		}
		return transientError{fmt.Errorf("modelhub: %s: %w", f.Path, err)}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		if offset > 0 { // the server sent the whole file after all
			if err := restart(); err != nil {
				return err
			}
		}
	case http.StatusPartialContent:
		start, total, err := contentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != offset || (total >= 0 && total != f.Size) {
			return fmt.Errorf("modelhub: %s: asked for bytes from %d of %d, got Content-Range %q",
				f.Path, offset, f.Size, resp.Header.Get("Content-Range"))
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if err := restart(); err != nil {
			return err
		}
		return transientError{fmt.Errorf("modelhub: %s: the server refused to resume; starting it again", f.Path)}
	default:
		err := fmt.Errorf("modelhub: %s: %s answered %s", f.Path, resp.Request.URL.Host, resp.Status)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return transientError{err}
		}
		return err
	}
	if _, err := out.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	body := &stallReader{r: resp.Body, timer: timer, d: stall}
	n, err := io.Copy(io.MultiWriter(out, sum, adder{p}), io.LimitReader(body, f.Size-offset+1))
	got := offset + n
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, errStalled) {
			err = cause
		}
		out.Sync()
		return transientError{fmt.Errorf("modelhub: %s: transfer stopped after %d of %d bytes: %w", f.Path, got, f.Size, err)}
	}
	if got < f.Size {
		out.Sync()
		return transientError{fmt.Errorf("modelhub: %s: connection closed after %d of %d bytes", f.Path, got, f.Size)}
	}
	if got > f.Size || !sum.ok() {
		out.Close()
		os.Remove(part)
		return fmt.Errorf("modelhub: %s/%s: %s: %w: the hub lists %d bytes with %s %s, the download does not match",
			Organization, name, f.Path, ErrChecksum, f.Size, sum.kind, sum.want)
	}
	if err := out.Sync(); err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	return nil
}

// resolveURL is where the hub serves a file of the repository.
func (c *Client) resolveURL(name, file string) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return c.base() + "/" + Organization + "/" + name + "/resolve/" + Revision + "/" + strings.Join(segs, "/")
}

// contentRange reads "bytes START-END/TOTAL" (TOTAL may be "*": -1).
func contentRange(h string) (start, total int64, err error) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("content range %q", h)
	}
	span, size, ok := strings.Cut(rest, "/")
	first, _, ok2 := strings.Cut(span, "-")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("content range %q", h)
	}
	if start, err = strconv.ParseInt(first, 10, 64); err != nil {
		return 0, 0, err
	}
	if size == "*" {
		return start, -1, nil
	}
	total, err = strconv.ParseInt(size, 10, 64)
	return start, total, err
}

// checksum is the hash the hub lists for a file: SHA-256 of the content
// for LFS files; for the others the git blob id, SHA-1 of the header
// "blob <size>\x00" followed by the content (what `git hash-object` prints).
type checksum struct {
	hash.Hash
	kind, want string
}

func newChecksum(f File) *checksum {
	if f.SHA256 != "" {
		return &checksum{sha256.New(), "sha256", f.SHA256}
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", f.Size)
	return &checksum{h, "git blob id", f.BlobID}
}

func (c *checksum) ok() bool { return hex.EncodeToString(c.Sum(nil)) == c.want }

// verifyFile checks a finished file's size and checksum.
func verifyFile(path string, f File) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	sum := newChecksum(f)
	n, err := io.Copy(sum, in)
	if err != nil {
		return err
	}
	if n != f.Size || !sum.ok() {
		return ErrChecksum
	}
	return nil
}

// prune removes from the staging folder what the listing no longer names
// (a file an older revision had) and anything that is not a plain file or
// folder, so that only the hub's files can end up installed.
func prune(stage string, files []File) error {
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Path] = true
	}
	return filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("modelhub: %w", err)
		}
		if p == stage {
			if !d.IsDir() {
				return fmt.Errorf("modelhub: staging folder %s is not a folder", stage)
			}
			return nil
		}
		rel, _ := filepath.Rel(stage, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "visual" || rel == "textual" {
				return nil
			}
		} else if d.Type().IsRegular() && keep[strings.TrimSuffix(rel, partSuffix)] {
			return nil
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("modelhub: %w", err)
		}
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
}

// stallReader pushes the stall timer back whenever data arrives.
type stallReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (s *stallReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	if n > 0 {
		s.timer.Reset(s.d)
	}
	return n, err
}

// adder reports written bytes to a Progress.
type adder struct{ p Progress }

func (a adder) Write(b []byte) (int, error) {
	a.p.Add(int64(len(b)))
	return len(b), nil
}
